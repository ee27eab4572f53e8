/**
 * A checkpoint → a model package, from templates (docs/convert.md): for each dtype, each graph's
 * template and weight map (applyWeightMap.ts), a graph two dtypes share written once
 * (templateFiles.ts); the tokenizers (tokenizer.json with the package's fixed length, made from
 * vocab.json + merges.txt where that is all there is); the files the templates carry, copied; the
 * manifest, the templates' own with this conversion's name, source, files (sizes and sha256,
 * streamed back from the written files), codebook colours and generator.
 *
 * The host gives the output (`PackageWriter`: it writes into a temporary folder and renames it
 * once this returns, or removes it when this throws) and the VQ decode for the codebook colours
 * (`decodeVq`: the core has no runtime of its own).
 *
 * The checkpoint must be of the templates' config: the configs' values the package's config
 * records are compared first (a message names the checkpoint's file and field); tensor names,
 * dtypes and shapes are then checked entry by entry against the maps.
 */
import { CheckpointError, readText } from './byteSource';
import type { CheckpointSource } from './byteSource';
import { openCheckpoint } from './checkpoint';
import type { Checkpoint } from './checkpoint';
import { tokenizerJsonText, withFixedLength } from './clipTokenizer';
import { applyWeightMap, readWeightMap } from './applyWeightMap';
import type { ApplyStats, PackageWriter } from './applyWeightMap';
import { codebookMosaics, patchMeans } from './codebookColors';
import { createStreamDigest } from './digest';
import { field, fromPlain, parsePyJson, plain, pyFloat, pyInt, pyJsonText } from './pyJson';
import type { PyJson, PyObject } from './pyJson';
import { carriedFiles, templateGraphs } from './templateFiles';
import type { CheckpointWeights } from './weights';
import { validateManifest } from '../manifest';

export const CONVERTER_TOOL = 'editmgt convert (TypeScript) 0.1.0';

/**
 * Decodes token grids [n, h, w] (int32) with the package's `vq_decode` → pixels [n, 3, H, W].
 * A host may instead hand each grid's pixels to `onGrid` as it is decoded, in order, and resolve
 * with empty `pixels`: the converter then keeps each grid's patch means only, never all grids.
 */
export type DecodeVq = (request: {
  /** the package path of the vq_decode graph to run (e.g. `fp32/vq_decode.onnx`) */
  readonly graphFile: string;
  readonly ids: Int32Array;
  readonly grids: number;
  readonly tokenGrid: readonly [number, number];
  /** one grid's pixels [1, 3, height, width]; called for every grid or for none */
  readonly onGrid?: (pixels: Float32Array, height: number, width: number) => void;
}) => Promise<{ pixels: Float32Array; height: number; width: number }>;

export interface ConvertOptions {
  readonly source: CheckpointSource;
  /** the templates folder of the checkpoint's config (manifest.json, <dtype>/<graph>.*) */
  readonly templates: CheckpointSource;
  readonly writer: PackageWriter;
  /** dtypes to write, in the manifest's order */
  readonly dtypes: readonly string[];
  /** must equal the templates' resolution when given */
  readonly resolution?: number;
  /** the manifest's `name` */
  readonly name: string;
  /** the manifest's `source.id` (default: the source's name) */
  readonly sourceId?: string;
  /** the manifest's `source.revision` (default: `revision` of the source, else a content hash) */
  readonly revision?: string;
  /** runs the package's vq_decode for the manifest's codebook colours */
  readonly decodeVq: DecodeVq;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  /**
   * Resuming a conversion cut short: `done` gives the files a graph wrote in an earlier run with
   * the same checkpoint, templates and writer's folder (the graph is then not converted again),
   * or null; `finished` is told each graph's files once they are all written. A graph is named by
   * the package folder it is written into (its dtype's, or the dtype's whose files it shares).
   */
  readonly resume?: {
    done(folder: string, graph: string): Promise<readonly string[] | null>;
    finished(folder: string, graph: string, files: readonly string[]): Promise<void>;
  };
}

export interface ConvertResult {
  readonly manifest: unknown;
  readonly files: readonly string[];
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/** a carried file is copied in blocks of this many bytes */
const CARRY_BLOCK_BYTES = 16 << 20;

const TOKENIZERS = { clip: ['tokenizer', 'tokenizer_clip'], llm: ['llm_encoder', 'tokenizer_llm'] } as const;

function num(v: PyJson | undefined): number | undefined {
  return v !== undefined && v !== null && typeof v === 'object' && 'text' in v ? v.value : undefined;
}

/** The config values the templates' manifest records, compared with the checkpoint's configs. */
export function checkConfig(ckpt: Checkpoint, config: PyJson | undefined, templatesName: string): void {
  const [first] = configMismatches(ckpt, config, templatesName);
  if (first !== undefined)
    throw new CheckpointError(
      `${first}; make templates for this config with the exporter's template command`,
    );
}

/**
 * Every value of the templates' config that the checkpoint's configs contradict, each naming the
 * checkpoint's file and field and the templates' value (checkConfig's message without its
 * advice); none when the templates fit. How many tells how close a template is to the checkpoint.
 */
export function configMismatches(
  ckpt: Checkpoint,
  config: PyJson | undefined,
  templatesName: string,
): string[] {
  const t = ckpt.configs.transformer;
  const sub = ckpt.transformerSubfolder;
  const vqBlocks = ckpt.configs.vq['block_out_channels'];
  const checks: [string, string, unknown][] = [
    ['codebook_size', `${sub}/config.json codebook_size`, t['codebook_size']],
    ['vocab_size', `${sub}/config.json vocab_size`, t['vocab_size']],
    [
      'mask_token_id',
      'scheduler/scheduler_config.json mask_token_id',
      ckpt.configs.scheduler['mask_token_id'],
    ],
    [
      'masking_schedule',
      'scheduler/scheduler_config.json masking_schedule',
      ckpt.configs.scheduler['masking_schedule'] ?? 'cosine',
    ],
    [
      'vae_scale_factor',
      'vqvae/config.json block_out_channels (2^(length − 1))',
      Array.isArray(vqBlocks) ? 2 ** (vqBlocks.length - 1) : vqBlocks,
    ],
    ['text.clip_dim', `${sub}/config.json pooled_projection_dim`, t['pooled_projection_dim']],
    ['text.llm_dim', `${sub}/config.json joint_attention_dim`, t['joint_attention_dim']],
    ...(
      [
        'num_layers',
        'num_single_layers',
        'num_attention_heads',
        'attention_head_dim',
        'connector_type',
        'downsample',
        'upsample',
      ] as const
    ).map((k): [string, string, unknown] => [`transformer.${k}`, `${sub}/config.json ${k}`, t[k]]),
  ];
  const found: string[] = [];
  for (const [path, what, value] of checks) {
    const expected = plain(field(config, ...path.split('.')) ?? null);
    if (expected === null) continue;
    if (value !== expected)
      found.push(
        `${ckpt.source.name}/${what} is ${JSON.stringify(value ?? null)}, but the templates (${templatesName}) are for ${JSON.stringify(expected)} (config.${path})`,
      );
  }
  return found;
}

/** Python's pathlib order of package paths (by parts). */
function byParts(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++)
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  return pa.length - pb.length;
}

/** The exporter's `content:` revision of a local checkpoint (paths, JSON bytes, weights' sizes). */
export async function contentRevision(source: CheckpointSource, signal?: AbortSignal): Promise<string> {
  const digest = await createStreamDigest();
  const enc = new (
    globalThis as unknown as { TextEncoder: new () => { encode(s: string): Uint8Array } }
  ).TextEncoder();
  const files = [...(await source.list(signal))].filter((p) => /\.(json|safetensors)$/.test(p)).sort(byParts);
  for (const p of files) {
    digest.update(enc.encode(p));
    const file = await source.open(p, signal);
    digest.update(
      p.endsWith('.json') ? await file.read(0, file.size, signal) : enc.encode(String(file.size)),
    );
  }
  return `content:${digest.hex().slice(0, 16)}`;
}

/** tokenizer.json's text with its padding and truncation set to the package's fixed length. */
function fixedLengthText(text: string, truncation: unknown, padding: unknown, where: string): string {
  const json = JSON.parse(text) as Record<string, unknown>;
  if (
    JSON.stringify(json['truncation']) === JSON.stringify(truncation) &&
    JSON.stringify(json['padding']) === JSON.stringify(padding)
  )
    return text;
  const nested = (v: unknown) => JSON.stringify(v, null, 2).replace(/\n/g, '\n  ');
  const t = text.indexOf('\n  "truncation": ');
  const p = text.indexOf('\n  "padding": ');
  const next = p < 0 ? -1 : text.slice(p + 1).search(/\n {2}"[^"]+": /);
  if (t < 0 || p < t || next < 0)
    throw new CheckpointError(
      `${where}: tokenizer.json is not laid out as the tokenizers library writes it; cannot set its padding`,
    );
  const end = p + 1 + next;
  return `${text.slice(0, t)}\n  "truncation": ${nested(truncation)},\n  "padding": ${nested(padding)},${text.slice(end)}`;
}

function tokenString(json: Record<string, unknown>, id: number): string | undefined {
  const added = json['added_tokens'];
  if (Array.isArray(added))
    for (const a of added as { id: number; content: string }[]) if (a.id === id) return a.content;
  const vocab = (json['model'] as Record<string, unknown> | undefined)?.['vocab'];
  if (vocab && typeof vocab === 'object' && !Array.isArray(vocab))
    for (const [k, v] of Object.entries(vocab)) if (v === id) return k;
  if (Array.isArray(vocab)) return (vocab[id] as [string, number] | undefined)?.[0];
  return undefined;
}

async function writeTokenizers(
  ckpt: Checkpoint,
  template: PyJson | undefined,
  writer: PackageWriter,
  signal?: AbortSignal,
): Promise<PyObject> {
  const out: PyObject = new Map();
  const enc = new (
    globalThis as unknown as { TextEncoder: new () => { encode(s: string): Uint8Array } }
  ).TextEncoder();
  const files = new Set(await ckpt.source.list(signal));
  for (const key of ['clip', 'llm'] as const) {
    const entry = field(template, key);
    if (!(entry instanceof Map))
      throw new CheckpointError(`the templates' manifest has no tokenizers.${key}`);
    const [sub, folder] = TOKENIZERS[key];
    const tok = ckpt.tokenizers[key];
    const maxLength = num(entry.get('max_length'))!;
    const padId = num(entry.get('pad_id'))!;
    const side = entry.get('padding_side') === 'left' ? 'left' : 'right';
    const where = `${ckpt.source.name}/${sub}`;
    const parsed = JSON.parse(tok.tokenizerJson) as Record<string, unknown>;
    const padToken = tokenString(parsed, padId);
    if (padToken === undefined)
      throw new CheckpointError(`${where}: the tokenizer has no token ${padId}, the package's pad_id`);
    const fixed = withFixedLength(tok.made ?? (parsed as never), { maxLength, padId, padToken, side });
    const text = tok.made
      ? tokenizerJsonText(fixed)
      : fixedLengthText(tok.tokenizerJson, fixed.truncation, fixed.padding, where);
    await writer.writeFile(`${folder}/tokenizer.json`, enc.encode(text));
    const listed: PyJson[] = [`${folder}/tokenizer.json`];
    for (const extra of ['tokenizer_config.json', 'special_tokens_map.json'])
      if (files.has(`${sub}/${extra}`)) {
        const f = await ckpt.source.open(`${sub}/${extra}`, signal);
        await writer.writeFile(`${folder}/${extra}`, await f.read(0, f.size, signal));
        listed.push(`${folder}/${extra}`);
      }
    const copy: PyObject = new Map(entry);
    copy.set('files', listed);
    out.set(key, copy);
  }
  return out;
}

/** Converts; see the module comment. Throws a `CheckpointError` naming the file, tensor or field. */
export async function convertPackage(options: ConvertOptions): Promise<ConvertResult> {
  const { source, templates, writer, signal } = options;
  const log = options.log ?? (() => {});
  // a line when each graph starts (`q4/text_clip`, the only lines with one '/', which hosts may
  // show as progress) and one when each phase ends, with its seconds (no '/' in those)
  const started = Date.now();
  let phaseStarted = started;
  const phase = (line: string) => {
    const now = Date.now();
    const s = (ms: number) => (ms / 1000).toFixed(1);
    log(`${line} in ${s(now - phaseStarted)} s (${s(now - started)} s in all)`);
    phaseStarted = now;
  };
  const templateManifest = parsePyJson(
    await readText(templates, 'manifest.json', signal),
    `${templates.name}/manifest.json`,
  );
  if (!(templateManifest instanceof Map))
    throw new CheckpointError(`${templates.name}/manifest.json is not an object`);
  const config = templateManifest.get('config');
  const resolution = num(field(config, 'resolution'));
  if (options.resolution !== undefined && options.resolution !== resolution)
    throw new CheckpointError(
      `the templates at ${templates.name} are for resolution ${resolution}, not ${options.resolution}; make templates at ${options.resolution} px with the exporter's template command`,
    );
  const dtypeEntries = templateManifest.get('dtypes');
  if (!(dtypeEntries instanceof Map))
    throw new CheckpointError(`${templates.name}/manifest.json has no dtypes`);
  const dtypes = [...new Set(options.dtypes)];
  if (dtypes.length === 0) throw new CheckpointError('no dtype asked for');
  for (const d of dtypes)
    if (!dtypeEntries.has(d))
      throw new CheckpointError(
        `the templates at ${templates.name} have no ${d} dtype (they have: ${[...dtypeEntries.keys()].join(', ')})`,
      );

  const ckpt = await openCheckpoint(source, { signal });
  checkConfig(ckpt, config, templates.name);
  phase('checkpoint headers and configs read');
  const weights = (subfolder: string): CheckpointWeights => {
    if (subfolder === 'text_encoder') return ckpt.weights.clip;
    if (subfolder === 'llm_encoder') return ckpt.weights.llm;
    if (subfolder === 'vqvae') return ckpt.weights.vq;
    if (subfolder === 'editmgt' || subfolder === 'transformer') return ckpt.weights.transformer;
    throw new CheckpointError(
      `a weight map names subfolder '${subfolder}', which an EditMGT checkpoint does not have`,
    );
  };

  const stats: ApplyStats = { bytesRead: 0 };
  const written: string[] = [];
  const where = `${templates.name}/manifest.json`;
  const plainManifest = plain(templateManifest);
  // each graph once, into the folder its entry names (a dtype may share another's: templateFiles.ts)
  for (const { graph, folder } of templateGraphs(plainManifest, dtypes, where)) {
    const map = await readWeightMap(templates, `${folder}/${graph}.weights.json`, signal);
    if (map.graph !== graph || map.dtype !== folder)
      throw new CheckpointError(
        `${templates.name}/${folder}/${graph}.weights.json is the map of ${map.dtype}/${map.graph}`,
      );
    const kept = await options.resume?.done(folder, graph);
    if (kept) {
      log(`${folder}/${graph} (kept from before)`);
      written.push(...kept);
      continue;
    }
    log(`${folder}/${graph}`);
    const readBefore = stats.bytesRead;
    const files = await applyWeightMap({
      map,
      templates,
      templateFolder: folder,
      weights,
      writer,
      folder,
      stats,
      signal,
    });
    await options.resume?.finished(folder, graph, files);
    written.push(...files);
    phase(
      `${graph} (${folder}) written, ${((stats.bytesRead - readBefore) / 1e6).toFixed(1)} MB of tensors read`,
    );
  }

  const tokenizers = await writeTokenizers(ckpt, templateManifest.get('tokenizers'), writer, signal);
  for (const v of tokenizers.values()) for (const f of field(v, 'files') as string[]) written.push(f);
  phase('tokenizers written');

  // the files the templates carry (the model's example pictures), copied as they are
  const carried = carriedFiles(plainManifest, where);
  for (const f of carried) {
    const file = await templates.open(f.path, signal);
    if (file.size !== f.bytes)
      throw new CheckpointError(
        `${file.name} has ${file.size} bytes, but the templates' manifest lists ${f.bytes} for ${f.path}`,
      );
    await writer.createFile(f.path, f.bytes);
    for (let at = 0; at < f.bytes; at += CARRY_BLOCK_BYTES) {
      const end = Math.min(f.bytes, at + CARRY_BLOCK_BYTES);
      await writer.writeAt(f.path, at, await file.read(at, end, signal));
    }
  }
  if (carried.length) phase(`${carried.length} files copied from the templates`);

  // codebook colours: every code decoded as a 2×2 patch of mosaics, each patch's mean colour
  const colors = await (async (): Promise<PyJson> => {
    const k = num(field(config, 'codebook_size'))!;
    const grid = plain(field(config, 'resolutions', String(resolution), 'token_grid') ?? null) as [
      number,
      number,
    ];
    const pick =
      dtypes.find((d) => d === 'fp32') ??
      dtypes.find(
        (d) => (plain(field(dtypeEntries.get(d), 'graphs', 'vq_decode', 'dtype') ?? null) ?? d) === 'fp32',
      ) ??
      dtypes[0]!;
    const graphFile = plain(field(dtypeEntries.get(pick), 'graphs', 'vq_decode', 'file') ?? null) as string;
    const mosaics = codebookMosaics(k, grid);
    const handed: number[][] = [];
    let gridsHanded = 0;
    const { pixels, height, width } = await options.decodeVq({
      graphFile,
      ids: mosaics.ids,
      grids: mosaics.count,
      tokenGrid: grid,
      onGrid: (one, h, w) => {
        handed.push(...patchMeans(one, 1, h, w, grid));
        gridsHanded++;
      },
    });
    if (gridsHanded !== 0 && gridsHanded !== mosaics.count)
      throw new Error(`the VQ decode handed ${gridsHanded} of ${mosaics.count} grids`);
    const means = gridsHanded ? handed : patchMeans(pixels, mosaics.count, height, width, grid);
    phase(
      `codebook colours: ${mosaics.count} VQ decodes of ${grid[0]}×${grid[1]} tokens with the ${pick} vq_decode`,
    );
    return means.slice(0, k).map((rgb) => rgb.map((v) => pyFloat(Number(v.toFixed(6)))));
  })();

  // the manifest: the templates' with this conversion's own fields
  const manifest: PyObject = new Map();
  const files: PyJson[] = [];
  let bytesWritten = 0;
  // the converted files in path order, then the carried ones in the templates' order
  const listed = new Map(carried.map((f) => [f.path, f]));
  const paths = [...written.sort(byParts), ...carried.map((f) => f.path)];
  for (const path of paths) {
    signal?.throwIfAborted();
    let sum: { sha256: string; bytes: number };
    if (writer.sha256) sum = await writer.sha256(path, signal);
    else {
      const digest = await createStreamDigest();
      for await (const block of writer.readBlocks(path, signal)) digest.update(block);
      sum = { sha256: digest.hex(), bytes: digest.length };
    }
    const expected = listed.get(path);
    if (expected && expected.sha256 !== sum.sha256)
      throw new CheckpointError(
        `${templates.name}/${path} is not the file the templates' manifest lists (sha256 ${sum.sha256}, listed ${expected.sha256})`,
      );
    bytesWritten += sum.bytes;
    files.push(
      new Map<string, PyJson>([
        ['path', path],
        ['bytes', pyInt(sum.bytes)],
        ['sha256', sum.sha256],
      ]),
    );
  }
  phase(`sha256 of ${files.length} files (${(bytesWritten / 1e6).toFixed(1)} MB) read back`);
  const kept: PyObject = new Map(dtypes.map((d) => [d, dtypeEntries.get(d)!]));
  const maxBuffer = Math.max(...dtypes.map((d) => num(field(dtypeEntries.get(d), 'max_buffer_bytes')) ?? 0));
  const revision =
    options.revision ?? (source as { commit?: string }).commit ?? (await contentRevision(source, signal));
  for (const [key, value] of templateManifest) {
    if (key === 'name') manifest.set(key, options.name);
    else if (key === 'source')
      manifest.set(
        key,
        new Map<string, PyJson>([
          ['id', options.sourceId ?? source.name],
          ['revision', revision],
        ]),
      );
    else if (key === 'dtypes') manifest.set(key, kept);
    else if (key === 'files') manifest.set(key, files);
    else if (key === 'config' && value instanceof Map) {
      const c: PyObject = new Map(value);
      c.set('max_buffer_bytes', pyInt(maxBuffer));
      manifest.set(key, c);
    } else if (key === 'tokenizers') manifest.set(key, tokenizers);
    else if (key === 'codebook_colors') manifest.set(key, colors);
    else if (key === 'generator') manifest.set(key, fromPlain({ tool: CONVERTER_TOOL }));
    else manifest.set(key, value);
  }
  try {
    validateManifest(plain(manifest));
  } catch (err) {
    throw new CheckpointError(`the converted manifest is not valid: ${(err as Error).message}`);
  }
  const text = pyJsonText(manifest);
  await writer.writeFile(
    'manifest.json',
    new (
      globalThis as unknown as { TextEncoder: new () => { encode(s: string): Uint8Array } }
    ).TextEncoder().encode(text),
  );
  phase('manifest written');
  return { manifest: plain(manifest), files: paths, bytesRead: stats.bytesRead, bytesWritten };
}
