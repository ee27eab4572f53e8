/**
 * npm run edit -- --image IN --prompt TEXT --out OUT [--model DIR_OR_URL] [--mask PNG] [--dtype D]
 *   [--query WORDS] [--overwrite] [--json] [--quiet] [setting flags] (`--help` lists them all)
 * Runs the engine on onnxruntime-node. Exit 0 on success; on bad input, exit 2 with one line.
 * Every input and `--out` are checked before the model is opened. The edit settings' flags
 * (--steps, --guidance, --reference-strength, …) come from the engine's settings table.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { checkInstruction, DTYPES, EditError, GRAPH_NAMES, packageEditOptions } from '../src/engine/index';
import type { GraphName, MemoryPolicy, StepEvent } from '../src/engine/index';
import { cpuOptions, Editor, packageSource } from '../src/engine/runtime/node/index';
import type { OrtNodeRunner } from '../src/engine/runtime/node/index';
import { checkPackageSource, dtypePreference, maskSizeProblem } from '../src/engine/internal';
import { ReadError, readLocalFile, writeFileAtomic } from '../src/engine/runtime/node/internal';
import {
  NUMBER_FLAGS,
  MEMORY_POLICIES,
  readDtypeFlag,
  readMemoryFlag,
  readSettingFlags,
  settingFlagOptions,
  settingUsageLines,
  UsageError,
} from './editFlags';
import { encodeImage, ImageFormatError, MAX_IMAGE_FILE_BYTES, openImage } from './imageIO';
import { checkOutputPath, OutputPathError } from './outputPath';

export const DEFAULT_MODEL = 'public/models/tiny-random';

/** `--steps -3` → `--steps=-3`, so the range check answers instead of the option parser. */
export function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (NUMBER_FLAGS.includes(argv[i]!) && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

/** What `--help` prints: the fixed flags, then one line per edit setting from the table. */
export function usage(): string {
  return [
    'npm run edit -- --image IN --prompt TEXT --out OUT [options]',
    '  --model DIR_OR_URL   a model package (default public/models/tiny-random)',
    '  --cache-dir DIR      where packages given by URL are downloaded (default $EDITMGT_CACHE, else ~/.cache/editmgt-web)',
    "  --mask PNG           inpainting: white marks where to edit (the image's size)",
    `  --dtype D            ${DTYPES.join(', ')} (default: the first the package has of ${dtypePreference('cpu').join(', ')})`,
    `  --memory M           ${MEMORY_POLICIES.join(', ')}: which graphs stay loaded between phases (default: by the package's size)`,
    '  --query WORDS        restrict the attention map to these words of the instruction',
    '  --overwrite          allow --out to replace an input',
    '  --json               print a JSON summary on stdout',
    '  --quiet              no step lines',
    "Edit settings (unset ones take the model package's defaults):",
    ...settingUsageLines(),
  ].join('\n');
}

export interface EditSummary {
  out: string;
  steps: number;
  stepMs: number[];
  readbackBytesPerStep: number;
  warnings: string[];
  totalMs: number;
  /** the memory policy the edit ran under */
  memory: MemoryPolicy;
  /** the graphs still loaded when the edit ended */
  graphsLoaded: GraphName[];
}

/** Runs the CLI; returns the exit code (printing one line on failure). */
export async function main(
  argv: string[],
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  let pkg: Editor<OrtNodeRunner> | undefined;
  try {
    const { values } = parseArgs({
      args: joinNegativeValues(argv),
      options: {
        image: { type: 'string' },
        prompt: { type: 'string' },
        out: { type: 'string' },
        model: { type: 'string', default: DEFAULT_MODEL },
        'cache-dir': { type: 'string' },
        ...settingFlagOptions(),
        mask: { type: 'string' },
        dtype: { type: 'string' },
        memory: { type: 'string' },
        query: { type: 'string' },
        help: { type: 'boolean', default: false },
        overwrite: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(`${usage()}\n`);
      return 0;
    }
    if (!values.image) throw new UsageError('--image is required');
    if (values.prompt === undefined) throw new UsageError('--prompt is required');
    if (!values.out) throw new UsageError('--out is required');
    checkPackageSource(values.model, '--model');
    if (values['cache-dir'] !== undefined && values['cache-dir'].trim() === '')
      throw new UsageError('--cache-dir needs a folder, got ""');
    const flags = readSettingFlags(values);
    const dtype = readDtypeFlag(values.dtype);
    const memory = readMemoryFlag(values.memory);
    const inputs = [
      { flag: '--image', path: values.image },
      ...(values.mask ? [{ flag: '--mask', path: values.mask }] : []),
    ];
    const outPath = checkOutputPath(values.out, inputs, values.overwrite);
    const image = await openImage(readLocalFile(values.image, MAX_IMAGE_FILE_BYTES, 'image'), values.image);
    const mask = values.mask
      ? await openImage(readLocalFile(values.mask, MAX_IMAGE_FILE_BYTES, 'mask'), values.mask)
      : undefined;
    const wrongMask = mask && maskSizeProblem(mask, image);
    if (wrongMask) throw new EditError('bad-settings', wrongMask);
    checkInstruction(values.prompt);

    pkg = await Editor.open(packageSource(values.model, values['cache-dir']), cpuOptions(dtype, { memory }));
    // unset flags take the package's defaults (the reference's 36 steps, guidance 6, …)
    const settings = { ...packageEditOptions(pkg.manifest), ...flags };
    const stepMs: number[] = [];
    let last = 0;
    let readback = 0;
    // the engine the opener built, under the package's memory policy (or --memory)
    const result = await pkg.engine.edit(
      {
        image,
        prompt: values.prompt,
        ...settings,
        mask,
        queryWords: values.query,
      },
      {
        onStep: (e: StepEvent) => {
          stepMs.push(e.elapsedMs - last);
          last = e.elapsedMs;
          readback = e.readbackBytes;
          if (!values.quiet)
            log(
              `step ${e.step + 1}/${e.steps}  drawn ${e.drawn.length}  re-masked ${e.remasked.length}  ${Math.round(e.elapsedMs)} ms`,
            );
        },
      },
    );
    for (const w of result.warnings) log(`warning: ${w}`);
    writeFileAtomic(outPath, encodeImage(result.image, outPath));
    const summary: EditSummary = {
      out: values.out,
      steps: settings.steps,
      stepMs,
      readbackBytesPerStep: readback,
      warnings: result.warnings,
      totalMs: result.elapsedMs,
      memory: pkg.memory,
      graphsLoaded: GRAPH_NAMES.filter((g) => pkg!.runner.isOpen(g)),
    };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else if (!values.quiet)
      log(
        `wrote ${values.out} (${result.image.width}×${result.image.height}) in ${Math.round(result.elapsedMs)} ms, ${pkg.dtype}`,
      );
    return 0;
  } catch (err) {
    const bad =
      err instanceof UsageError ||
      err instanceof EditError ||
      err instanceof ImageFormatError ||
      err instanceof ReadError ||
      err instanceof OutputPathError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    log(`edit: ${(err as Error).message.split('\n')[0]}`);
    return bad ? 2 : 1;
  } finally {
    await pkg?.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
