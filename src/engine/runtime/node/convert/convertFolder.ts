/**
 * `convertPackage` on node: a checkpoint (folder or `hf:` repo) and a templates folder → a
 * package folder, written into a temporary sibling and renamed into place only when whole (on
 * any failure, an abort included, the temporary folder is removed and nothing is left at the
 * package's path). The codebook colours' VQ decode runs on onnxruntime-node.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CheckpointError, readText } from '../../../convert/byteSource';
import { openCheckpoint } from '../../../convert/checkpoint';
import { convertPackage } from '../../../convert/convertPackage';
import { modelCardFiles } from '../../../convert/modelCard';
import type { ModelCardOptions } from '../../../convert/modelCard';
import { parsePyJson } from '../../../convert/pyJson';
import { chooseTemplates, resolutionOrder } from '../../../convert/templateChoice';
import type { TemplateCandidate, TemplateWants } from '../../../convert/templateChoice';
import type { ConvertResult, DecodeVq } from '../../../convert/convertPackage';
import { checkpointSource } from './checkpointSource';
import { folderSource } from './folderSource';
import { openVqDecoder } from './vqDecode';
import { createPackageFolder } from './packageFolder';
import type { HubSourceOptions } from './hubSource';

export interface ConvertFolderOptions {
  /** a checkpoint folder or `hf:owner/repo[@revision]` */
  readonly source: string;
  readonly templates: string;
  readonly out: string;
  readonly dtypes: readonly string[];
  readonly resolution?: number;
  readonly name?: string;
  readonly sourceId?: string;
  readonly revision?: string;
  /** for `hf:` sources: endpoint, token and retry settings (default: HF_ENDPOINT, HF_TOKEN) */
  readonly hub?: HubSourceOptions;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  /** write the model card (README.md, and NOTICE for a package from EditMGT) beside the manifest */
  readonly card?: ModelCardOptions;
}

export async function convertFolder(
  options: ConvertFolderOptions,
): Promise<ConvertResult & { outDir: string }> {
  if (!(await stat(join(options.templates, 'manifest.json')).catch(() => undefined))?.isFile())
    throw new CheckpointError(
      `templates folder ${resolve(options.templates)} has no manifest.json; make templates with \`python -m editmgt_export template --source <checkpoint> --dtype … --out <folder>\``,
    );
  // progress lines with this process's resident memory
  const log =
    options.log &&
    ((line: string) => options.log!(`${line} [rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB]`));
  const source = await checkpointSource(options.source, options.hub);
  const templates = folderSource(options.templates);
  const folder = await createPackageFolder(options.out);
  // the codebook decode (vqDecode.ts); each grid's pixels handed to the converter as decoded (or,
  // for a caller that takes no grids, copied into one preallocated array)
  const decodeVq: DecodeVq = async ({ graphFile, ids, grids, tokenGrid, onGrid }) => {
    const decoder = await openVqDecoder(join(folder.tempDir, ...graphFile.split('/')));
    if (decoder.stages) {
      const [first, second] = decoder.stages.weightBytes.map((b) => (b / 1e6).toFixed(1));
      log?.(
        `vq_decode in two stages, cut at ${decoder.stages.cut} (${first} MB and ${second} MB of weights)`,
      );
    }
    const [h, w] = tokenGrid;
    let all: Float32Array | undefined;
    let dims: readonly number[] = [];
    try {
      for (let m = 0; m < grids; m++) {
        const out = await decoder.decode(
          { ids: { type: 'int32', data: ids.slice(m * h * w, (m + 1) * h * w), dims: [1, h, w] } },
          options.signal,
        );
        const pixels = out['pixels'];
        if (!pixels || pixels.type !== 'float32' || pixels.dims.length !== 4)
          throw new Error(`${graphFile} gave no float32 pixels [1, 3, H, W]`);
        dims = pixels.dims;
        if (onGrid) onGrid(pixels.data, dims[2]!, dims[3]!);
        else {
          all ??= new Float32Array(grids * pixels.data.length);
          if (pixels.data.length * grids !== all.length)
            throw new Error(`${graphFile} gave pixels of two sizes`);
          all.set(pixels.data, m * pixels.data.length);
        }
        log?.(`vq_decode: grid ${m + 1} of ${grids} decoded`);
      }
    } finally {
      await decoder.release();
    }
    return { pixels: all ?? new Float32Array(0), height: dims[2] ?? 0, width: dims[3] ?? 0 };
  };
  try {
    const result = await convertPackage({
      source,
      templates,
      writer: folder,
      dtypes: options.dtypes,
      resolution: options.resolution,
      name: options.name ?? options.out.split(/[\\/]/).filter(Boolean).pop()!,
      sourceId: options.sourceId ?? options.source,
      revision: options.revision,
      decodeVq,
      signal: options.signal,
      log,
    });
    if (options.card)
      for (const [path, text] of modelCardFiles(result.manifest, options.card))
        await folder.writeFile(path, new TextEncoder().encode(text));
    options.signal?.throwIfAborted();
    await folder.commit();
    return { ...result, outDir: folder.outDir };
  } catch (err) {
    await folder.discard();
    throw err;
  }
}

/**
 * The first of `candidates` (template folders) made for the checkpoint's config, at `resolution`
 * and with every one of `dtypes` when given (templates/README.md); refused with each candidate's
 * reason, the closest first (templateChoice.ts).
 */
export async function findTemplates(
  source: string,
  candidates: readonly string[],
  wants: TemplateWants = {},
  signal?: AbortSignal,
): Promise<string> {
  const ckpt = await openCheckpoint(await checkpointSource(source), { signal });
  const read: TemplateCandidate[] = [];
  for (const dir of candidates) {
    const manifest = parsePyJson(
      await readText(folderSource(dir), 'manifest.json', signal),
      `${dir}/manifest.json`,
    );
    read.push({ name: dir, manifest });
  }
  const choice = chooseTemplates(ckpt, read, wants);
  if (choice.chosen !== null) return candidates[choice.chosen]!;
  const make = (dtypes: string, resolution = '') =>
    `make them with \`python -m editmgt_export template --source <checkpoint> --dtype ${dtypes}${resolution} --out <folder>\` and pass --templates <folder>`;
  const closest = choice.closest;
  // the config fits: only the resolution or the dtypes asked for are not shipped
  if (closest && closest.mismatches.length === 0) {
    const shipped = `the shipped templates for ${source}'s config (${closest.name})`;
    const dtypes = wants.dtypes?.join(',') ?? closest.dtypes.join(',');
    if (wants.resolution !== undefined && closest.resolution !== wants.resolution) {
      // every shipped resolution for this config, e.g. 512 and 1024 px
      const same = choice.fits
        .filter((f) => f.mismatches.length === 0)
        .sort((a, b) => resolutionOrder(a) - resolutionOrder(b));
      const at = [...new Set(same.map((f) => String(f.resolution)))].join(' and ');
      throw new CheckpointError(
        `the shipped templates for ${source}'s config (${same.map((f) => f.name).join(', ')}) are made for ${at} px, not ${wants.resolution} px: leave out --resolution, or ${make(dtypes, ` --resolution ${wants.resolution}`)}`,
      );
    }
    throw new CheckpointError(
      `${shipped} have ${closest.dtypes.join(', ')} only, not ${closest.missingDtypes.join(', ')}: convert with --dtype ${closest.dtypes.join(',')}, or ${make(closest.missingDtypes.join(','))}`,
    );
  }
  throw new CheckpointError(
    `no shipped templates fit ${source}${wants.resolution ? ` at ${wants.resolution} px` : ''}; ${make('…')}${choice.reasons ? `\n${choice.reasons}` : ''}`,
  );
}
