/**
 * `npm run convert:bench -- [--json FILE] [--sources tiny,reduced,fullsize,shapes]
 *   [--converters node,python] [--checkpoint SOURCE=DIR] [--templates SOURCE=DIR]
 *   [--reference SOURCE=DIR] [--keep DIR]`
 *
 * For each source checkpoint that is on disk and each converter: wall time, CPU time, peak RSS
 * and bytes read of the converter's process tree (measure.ts), and whether its package is the
 * exporter's (compare.ts), else the first file that differs. Beside them, the time to read the
 * checkpoint's safetensors files once. A source or converter that cannot run gets a row saying
 * why, with no numbers. The Markdown table goes to stdout; docs/convert.md holds the latest.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { comparePackages } from './compare';
import type { Comparison } from './compare';
import { measure } from './measure';
import type { Measured } from './measure';
import {
  CONVERTER_NAMES,
  converterCommand,
  EXPORT,
  missing,
  PYTHON,
  REPO,
  SOURCE_NAMES,
  safetensorsFiles,
  sourceSpecs,
} from './sources';
import type { ConverterName, Paths, SourceName, SourceSpec } from './sources';
import { markdownTable } from './table';

export interface ReadOnce {
  readonly files: number;
  readonly bytes: number;
  readonly wallS: number;
}

export interface BenchRow {
  readonly source: SourceName;
  readonly converter: ConverterName;
  /** `ran`: exit 0; `failed`: the converter exited non-zero; `not run`: see `why` */
  readonly status: 'ran' | 'failed' | 'not run';
  readonly why?: string;
  readonly command?: string;
  readonly dtypes?: readonly string[];
  readonly wallS?: number;
  readonly cpuS?: number;
  readonly peakTreeRssBytes?: number;
  readonly maxProcessRssBytes?: number;
  /** the converter's own count of checkpoint bytes it read (its --json bytes_read) */
  readonly converterBytesRead?: number;
  readonly rcharBytes?: number;
  readonly readBytes?: number;
  /** the converter's own report (--json), as printed */
  readonly converterReport?: unknown;
  readonly readOnceS?: number;
  /** the model's packager step run on the package before the comparison (not timed) */
  readonly finished?: string;
  readonly comparedAs?: 'package' | 'graph-files';
  readonly comparison?: Comparison;
}

export interface BenchReport {
  readonly date: string;
  /** the commit measured, and the converters' files that differ from it in the working tree */
  readonly tree: { readonly commit: string; readonly changed: readonly string[] };
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryBytes: number;
    readonly node: string;
  };
  readonly sources: readonly {
    readonly source: SourceName;
    readonly what: string;
    /** when, and on which tree, this source's rows were measured (they may come from an earlier run: --append) */
    readonly measured: { readonly date: string; readonly tree: BenchReport['tree'] };
    readonly checkpoint?: string;
    readonly templates?: string;
    readonly reference?: string;
    readonly readOnce?: ReadOnce;
    readonly notRun?: string;
    /** how to provide what is missing */
    readonly howTo?: string;
    /** the python converter's package against the node converter's, when both ran */
    readonly pythonVsNode?: Comparison;
  }[];
  readonly rows: readonly BenchRow[];
}

function list<T extends string>(text: string, allowed: readonly T[], flag: string): T[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const i of items)
    if (!(allowed as readonly string[]).includes(i))
      throw new Error(`${flag} ${i} is not one of ${allowed.join(', ')}`);
  return items as T[];
}

function pathOptions(
  values: readonly string[],
  key: keyof Paths,
  into: Partial<Record<SourceName, Paths>>,
): void {
  for (const v of values) {
    const [name, ...rest] = v.split('=');
    const dir = rest.join('=');
    if (!(SOURCE_NAMES as readonly string[]).includes(name!) || !dir)
      throw new Error(`--${key} ${v}: expected SOURCE=DIR with SOURCE one of ${SOURCE_NAMES.join(', ')}`);
    into[name as SourceName] = { ...into[name as SourceName], [key]: resolve(dir) };
  }
}

/** Reads every byte of `files` once, 16 MiB at a time. */
export function readOnce(files: readonly string[]): ReadOnce {
  const started = performance.now();
  const block = Buffer.alloc(16 << 20);
  let bytes = 0;
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      for (;;) {
        const n = readSync(fd, block, 0, block.length, null);
        if (n === 0) break;
        bytes += n;
      }
    } finally {
      closeSync(fd);
    }
  }
  return { files: files.length, bytes, wallS: (performance.now() - started) / 1000 };
}

/** The commit, and the converters' files changed since it (uncommitted work is measured too). */
function treeState(): BenchReport['tree'] {
  // porcelain lines start with a space for unstaged changes: no trim before splitting
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: REPO, encoding: 'utf8' }).replace(/\n$/, '');
  try {
    const converters = [
      'src/engine/convert',
      'src/engine/runtime/node/convert',
      'cli/convert.ts',
      'tools/export/editmgt_export',
    ];
    const changed = git('status', '--porcelain', '--', ...converters)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3));
    return { commit: git('rev-parse', 'HEAD').trim(), changed };
  } catch {
    return { commit: 'unknown (not a git checkout)', changed: [] };
  }
}

/** The tiny checkpoint in the single-file layout, made by the exporter's builder into `dir`. */
function makeTiny(dir: string): string {
  execFileSync(PYTHON, ['-m', 'editmgt_export', 'layouts', '--only', 'single', '--out', dir], {
    cwd: EXPORT,
    stdio: 'pipe',
  });
  return join(dir, 'single');
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1) ?? '';
}

async function runOne(
  spec: SourceSpec,
  converter: ConverterName,
  checkpoint: string,
  work: string,
  readOnceS: number | undefined,
  log: (line: string) => void,
): Promise<BenchRow> {
  if (converter === 'python' && !existsSync(PYTHON))
    return {
      source: spec.name,
      converter,
      status: 'not run',
      why: `the exporter's Python is missing (${PYTHON}): npm run export:setup`,
    };
  const out = join(work, `${spec.name}-${converter}`);
  const cmd = converterCommand(converter, spec, checkpoint, out);
  log(`${spec.name} / ${converter}: ${cmd.label}`);
  const m: Measured = await measure(cmd.argv, { cwd: cmd.cwd });
  const base = {
    source: spec.name,
    converter,
    command: cmd.label,
    dtypes: spec.dtypes,
    wallS: m.wallS,
    cpuS: m.cpuS,
    peakTreeRssBytes: m.peakTreeRssBytes,
    maxProcessRssBytes: m.maxProcessRssBytes,
    rcharBytes: m.rcharBytes,
    readBytes: m.readBytes,
    readOnceS,
  };
  if (m.exitCode !== 0)
    return {
      ...base,
      status: 'failed',
      why: `exit ${m.exitCode}: ${lastLine(m.stderr) || lastLine(m.stdout)}`,
    };
  let finished: string | undefined;
  if (spec.finish && cmd.writes === 'package') {
    execFileSync(spec.finish.argv[0]!, [...spec.finish.argv.slice(1), out], {
      cwd: spec.finish.cwd,
      stdio: 'pipe',
    });
    finished = spec.finish.what;
  }
  let converterReport: unknown;
  let converterBytesRead: number | undefined;
  if (cmd.writes === 'package') {
    // both converters print their report (--json) last on stdout
    converterReport = JSON.parse(m.stdout.slice(m.stdout.indexOf('{'))) as { bytes_read?: number };
    converterBytesRead = (converterReport as { bytes_read?: number }).bytes_read;
  }
  const comparison = comparePackages(out, spec.reference!, {
    ignoreRevision: spec.ignoreRevision,
    scope: cmd.writes,
  });
  return {
    ...base,
    status: 'ran',
    converterReport,
    converterBytesRead,
    finished,
    comparedAs: cmd.writes,
    comparison,
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'string' },
      sources: { type: 'string', default: SOURCE_NAMES.join(',') },
      converters: { type: 'string', default: CONVERTER_NAMES.join(',') },
      checkpoint: { type: 'string', multiple: true, default: [] },
      templates: { type: 'string', multiple: true, default: [] },
      reference: { type: 'string', multiple: true, default: [] },
      keep: { type: 'string' },
      append: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'npm run convert:bench -- [--json FILE] [--sources tiny,reduced,fullsize,shapes] [--converters node,python]\n' +
        '  [--checkpoint SOURCE=DIR] [--templates SOURCE=DIR] [--reference SOURCE=DIR] [--keep DIR]\n' +
        "  [--append FILE]  keep FILE's rows for the sources this run leaves out",
    );
    return 0;
  }
  const sources = list(values.sources, SOURCE_NAMES, '--sources');
  const converters = list(values.converters, CONVERTER_NAMES, '--converters');
  const paths: Partial<Record<SourceName, Paths>> = {};
  pathOptions(values.checkpoint, 'checkpoint', paths);
  pathOptions(values.templates, 'templates', paths);
  pathOptions(values.reference, 'reference', paths);
  const log = (line: string) => console.error(`convert:bench: ${line}`);

  const work = values.keep ? resolve(values.keep) : mkdtempSync(join(tmpdir(), 'editmgt-convert-bench-'));
  mkdirSync(work, { recursive: true });
  const report: BenchReport = {
    date: new Date().toISOString(),
    tree: treeState(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      node: process.version,
    },
    sources: [],
    rows: [],
  };
  const sourcesOut = report.sources as BenchReport['sources'][number][];
  const measured = { date: report.date, tree: report.tree };
  const rows = report.rows as BenchRow[];
  try {
    for (const spec of sourceSpecs(paths).filter((s) => sources.includes(s.name))) {
      const notRun = missing(spec);
      if (notRun) {
        log(`${spec.name}: not run: ${notRun}`);
        sourcesOut.push({ source: spec.name, what: spec.what, measured, notRun, howTo: spec.howTo });
        for (const converter of converters)
          rows.push({ source: spec.name, converter, status: 'not run', why: notRun });
        continue;
      }
      let checkpoint = spec.checkpoint;
      if (!checkpoint) {
        if (!existsSync(PYTHON)) {
          const why = `the exporter's Python, which makes the tiny checkpoint, is missing (${PYTHON}): npm run export:setup`;
          sourcesOut.push({ source: spec.name, what: spec.what, measured, notRun: why });
          for (const converter of converters)
            rows.push({ source: spec.name, converter, status: 'not run', why });
          continue;
        }
        log('tiny: making the checkpoint (python -m editmgt_export layouts --only single)');
        checkpoint = makeTiny(join(work, 'tiny-checkpoint'));
      }
      const files = safetensorsFiles(checkpoint);
      const once = readOnce(files);
      log(`${spec.name}: read ${once.bytes} bytes of safetensors once in ${once.wallS.toFixed(3)} s`);
      sourcesOut.push({
        source: spec.name,
        what: spec.what,
        measured,
        checkpoint,
        templates: spec.templates,
        reference: spec.reference,
        readOnce: once,
      });
      for (const converter of converters) {
        const row = await runOne(spec, converter, checkpoint, work, once.wallS, log);
        log(
          `${spec.name} / ${converter}: ${row.status}${row.why ? ` (${row.why})` : ''}${
            row.comparison
              ? `, ${row.comparison.identical ? 'identical' : `differs: ${row.comparison.firstDifference?.file}`}`
              : ''
          }`,
        );
        rows.push(row);
      }
      const ran = (c: ConverterName) =>
        rows.some((r) => r.source === spec.name && r.converter === c && r.status === 'ran');
      if (ran('node') && ran('python')) {
        const entry = sourcesOut[sourcesOut.length - 1]!;
        sourcesOut[sourcesOut.length - 1] = {
          ...entry,
          pythonVsNode: comparePackages(join(work, `${spec.name}-python`), join(work, `${spec.name}-node`), {
            scope: converterCommand('python', spec, checkpoint, '').writes,
          }),
        };
      }
    }
  } finally {
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
  if (values.append) {
    const earlier = JSON.parse(readFileSync(values.append, 'utf8')) as BenchReport;
    const kept = earlier.sources
      .filter((x) => !sources.includes(x.source))
      .map((x) => ({ ...x, measured: x.measured ?? { date: earlier.date, tree: earlier.tree } }));
    sourcesOut.push(...kept);
    rows.push(...earlier.rows.filter((r) => !sources.includes(r.source)));
    const order = (n: SourceName) => SOURCE_NAMES.indexOf(n);
    sourcesOut.sort((a, b) => order(a.source) - order(b.source));
    rows.sort((a, b) => order(a.source) - order(b.source));
    log(`kept ${kept.length} sources' rows from ${values.append}`);
  }
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify(report, null, 1)}\n`);
    log(`wrote ${values.json} (${statSync(values.json).size} bytes)`);
  }
  console.log(markdownTable(report));
  return rows.some((r) => r.status === 'failed') ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  process.exitCode = await main(process.argv.slice(2));
}
