/**
 * npm run convert -- --source <folder | hf:owner/repo[@revision]> --dtype q4[,fp16,…] --out <folder>
 *   [--resolution N] [--templates <folder>] [--name NAME] [--source-id TEXT] [--json] [--quiet]
 *   [--repo OWNER/NAME] [--editor-url URL] [--not-from-editmgt] [--no-card]
 * A checkpoint → a model package, in TypeScript (no Python, no PyTorch): the graphs come from
 * templates made by the exporter for the checkpoint's config (docs/convert.md). Without
 * `--templates`, the shipped ones under templates/ are tried, and the first whose config matches
 * the checkpoint, at the resolution and with the dtypes asked for, is used (no resolution asked:
 * the first of the lowest resolution, 512 px for EditMGT's published config). Exit 0 on success, 2
 * with one line on bad input, 1 otherwise; the package is written to a temporary folder and
 * renamed into place only when whole.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DTYPES } from '../src/engine/index';
import { CheckpointError } from '../src/engine/internal';
import { convertFolder, findTemplates } from '../src/engine/runtime/node/internal';

export const TEMPLATES_ROOT = resolve(fileURLToPath(new URL('../templates', import.meta.url)));

export function usage(): string {
  return [
    'npm run convert -- --source <folder | hf:owner/repo[@revision]> --dtype D[,D…] --out <folder> [options]',
    '  --source S        a checkpoint folder in hub layout, or hf:owner/repo[@revision] (HF_TOKEN for gated repos)',
    `  --dtype D         comma list of ${DTYPES.join(', ')} (default q4)`,
    '  --out DIR         the package folder (replaced only once the new package is whole)',
    "  --resolution N    the package's resolution (default: the lowest the fitting templates have: 512 for EditMGT)",
    '  --templates DIR   templates made by `python -m editmgt_export template` (default: the shipped ones that match)',
    "  --name NAME       the manifest's name (default: the --out folder's name)",
    "  --source-id TEXT  the manifest's source.id (default: --source)",
    "  --repo OWNER/NAME the hub repo the package will be published in, for the model card's link",
    "  --editor-url URL  a deployed copy of the editor, for the model card's open link",
    "  --not-from-editmgt  the weights are not EditMGT's (random, trained from scratch): the card claims no Gemma/CLIP licence, no NOTICE",
    '  --no-card         write no model card (README.md, NOTICE)',
    '  --json            print wall and CPU time, peak RSS and bytes read and written as JSON',
    '  --quiet           no progress lines',
  ].join('\n');
}

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        source: { type: 'string' },
        dtype: { type: 'string', default: 'q4' },
        out: { type: 'string' },
        resolution: { type: 'string' },
        templates: { type: 'string' },
        name: { type: 'string' },
        'source-id': { type: 'string' },
        repo: { type: 'string' },
        'editor-url': { type: 'string' },
        'not-from-editmgt': { type: 'boolean', default: false },
        'no-card': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`convert: ${(err as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const started = performance.now();
  try {
    if (!values.source) throw new UsageError('--source is required');
    if (!values.out) throw new UsageError('--out is required');
    const dtypes = values.dtype.split(',').map((d) => d.trim());
    for (const d of dtypes)
      if (!(DTYPES as readonly string[]).includes(d))
        throw new UsageError(`--dtype ${d} is not one of ${DTYPES.join(', ')}`);
    let resolution: number | undefined;
    if (values.resolution !== undefined) {
      resolution = Number(values.resolution);
      if (!/^\d+$/.test(values.resolution) || !(resolution > 0))
        throw new UsageError(`--resolution ${values.resolution} is not a positive whole number`);
    }
    const log = values.quiet || values.json ? undefined : (line: string) => console.error(`convert: ${line}`);
    const templates =
      values.templates ??
      (await findTemplates(values.source, await shippedTemplates(), { resolution, dtypes }));
    log?.(`templates ${templates}`);
    const result = await convertFolder({
      source: values.source,
      templates,
      out: values.out,
      dtypes,
      resolution,
      name: values.name,
      sourceId: values['source-id'],
      log,
      card: values['no-card']
        ? undefined
        : { repo: values.repo, editorUrl: values['editor-url'], fromEditmgt: !values['not-from-editmgt'] },
    });
    const report = {
      out: result.outDir,
      templates,
      dtypes,
      files: result.files.length + 1,
      bytes_read: result.bytesRead,
      bytes_written: result.bytesWritten,
      wall_s: Number(((performance.now() - started) / 1000).toFixed(3)),
      cpu_s: Number(cpuSeconds().toFixed(3)),
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    };
    if (values.json) console.log(JSON.stringify(report, null, 1));
    else
      log?.(
        `wrote ${result.outDir} in ${report.wall_s} s (${report.cpu_s} s of CPU, peak RSS ${(report.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB)`,
      );
    return 0;
  } catch (err) {
    if (err instanceof UsageError || err instanceof CheckpointError) {
      console.error(`convert: ${err.message}`);
      return 2;
    }
    console.error(`convert: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

/** User and system CPU seconds of this process, its runtime's threads included. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** The shipped template folders (each with a manifest.json). */
async function shippedTemplates(): Promise<string[]> {
  const names = await readdir(TEMPLATES_ROOT).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names.sort()) {
    const dir = join(TEMPLATES_ROOT, n);
    if ((await stat(join(dir, 'manifest.json')).catch(() => undefined))?.isFile()) out.push(dir);
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
