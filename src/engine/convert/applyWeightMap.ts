/**
 * One graph's files from its template and weight map (docs/model-package.md, "Templates and
 * weight maps"): the template copied, each listed file created zero-filled, then every entry's
 * bytes written at its `place`: a config constant copied from the `.constants` file, or a
 * checkpoint tensor read by byte range, transformed (transforms.ts) and encoded (quantize*.ts).
 *
 * Memory: entries are taken in groups (a q4 weight's blocks and scales, a q8 weight's three
 * parts, an int8 table's values and scales come one after the other and are encoded once).
 * - Streamed, a block of about `ROW_BLOCK_BYTES` of float32 rows at a time: untransformed
 *   float32 / float16 / int8-row / token-table entries; q4 weights whose map transposes a 2-D
 *   tensor (the Linear weight's rows are MatMulNBits' columns); q8 weights, untransposed or
 *   transposed (two passes: the tensor's largest magnitude, then its int8 values; a transposed one
 *   through spans, as below); float32 and float16 entries
 *   whose map only reshapes (the bytes keep their order); float32 and float16 entries whose map
 *   transposes a 2-D tensor (the fp32 and fp16 graphs' Linear weights): each block's encoded
 *   values are moved into a span of the transposed output, written when full (in one piece when
 *   the whole tensor's encoding fits `TRANSPOSE_SPAN_BLOCKS` blocks, else one piece an output row).
 * - Whole: any other transformed entry holds its tensor as float32 twice (as read and as
 *   transformed) plus its encoding. In the shipped maps those are the VQ graphs' 1×1
 *   convolution kernels and their transposes, and the slices of the patch-embedding
 *   convolution that q4 and q8 quantise, a few MB at full size.
 * The largest streamed block is `ROW_BLOCK_BYTES` of float32 plus its encoding, and for a
 * transposed float entry one span of `TRANSPOSE_SPAN_BLOCKS` · `ROW_BLOCK_BYTES` bytes at most.
 *
 * Every source is checked before its bytes are read: present, a float dtype (F32, F16, BF16),
 * and a shape that the transforms turn into the template's. Every value read is checked finite.
 */
import { CheckpointError, decodeUtf8 } from './byteSource';
import type { CheckpointSource } from './byteSource';
import { encodeFloat16, roundThroughExporterFloat16 } from './quantizeFloat16';
import { encodeInt8Rows, encodeQ8, int8TableRows, maxAbs, q8Scale } from './quantizeInt8';
import { encodeQ4Columns, q4Blocks, q4ScaleBytes } from './quantizeQ4';
import type { Q4Variant } from './quantizeQ4';
import { FLOAT_DTYPES } from './safetensors';
import { applyTransforms, transformedShape, transposeInto } from './transforms';
import type { Transform } from './transforms';
import type { CheckpointWeights } from './weights';

/** Float32 bytes of rows transformed and encoded at a time. */
export const ROW_BLOCK_BYTES = 16 << 20;

export interface WeightMapPlace {
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

export interface WeightMapEncoding {
  readonly type: 'float32' | 'float16' | 'q4' | 'q8' | 'int8_rows' | 'token_rows';
  readonly input?: 'float32' | 'float16';
  readonly part?: 'blocks' | 'scales' | 'values' | 'scale' | 'zero_point';
  readonly block_size?: number;
  readonly scale_type?: 'float32' | 'float16';
  readonly format?: 'float32' | 'float16' | 'int8';
}

export interface WeightMapEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly element?: string | null;
  readonly place: WeightMapPlace;
  readonly constant?: { readonly offset: number; readonly length: number };
  readonly sources?: readonly { readonly subfolder: string; readonly tensor: string }[];
  readonly transforms?: readonly Transform[];
  readonly encoding?: WeightMapEncoding;
}

export interface WeightMap {
  readonly format: 'editmgt-weightmap';
  readonly version: 1;
  readonly graph: string;
  readonly dtype: string;
  readonly compute_dtype: string;
  readonly template: string;
  readonly constants: string | null;
  readonly files: readonly { readonly file: string; readonly bytes: number }[];
  readonly entries: readonly WeightMapEntry[];
}

/** Where the package is written: paths relative to the package, `/` separators. */
export interface PackageWriter {
  /** A new file holding `bytes`, its folders made. */
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  /** A new file of `size` zero bytes, its folders made. */
  createFile(path: string, size: number): Promise<void>;
  /** `bytes` written at `offset` of a file made before. */
  writeAt(path: string, offset: number, bytes: Uint8Array): Promise<void>;
  /**
   * A written file read back in blocks (the manifest's digests). A block is valid only until the
   * next one is asked for: hosts read every block into one buffer.
   */
  readBlocks(path: string, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /**
   * A written file's lower-case hex SHA-256 and size, by the host's own hasher (node's native one
   * hashes about six times as fast as the portable one); when absent the converter reads the file
   * back with `readBlocks` and hashes it itself.
   */
  sha256?(path: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }>;
  /** A written file's size. */
  size(path: string): Promise<number>;
}

/** The checkpoint's weights by the maps' subfolder names. */
export type WeightsBySubfolder = (subfolder: string) => CheckpointWeights;

export interface ApplyStats {
  /** tensor bytes read from the checkpoint */
  bytesRead: number;
}

/** Reads and checks a weight map file of the templates. */
export async function readWeightMap(
  templates: CheckpointSource,
  path: string,
  signal?: AbortSignal,
): Promise<WeightMap> {
  const file = await templates.open(path, signal);
  const bytes = await file.read(0, file.size, signal);
  let map: WeightMap;
  try {
    map = JSON.parse(decodeUtf8(bytes, file.name)) as WeightMap;
  } catch (err) {
    throw new CheckpointError(`${file.name} is not valid JSON (${(err as Error).message})`);
  }
  if (map.format !== 'editmgt-weightmap' || map.version !== 1)
    throw new CheckpointError(
      `${file.name} is not a weight map of version 1 (format ${JSON.stringify(map.format)}, version ${JSON.stringify(map.version)})`,
    );
  if (!Array.isArray(map.entries) || !Array.isArray(map.files))
    throw new CheckpointError(`${file.name} has no entries or files list`);
  return map;
}

function sameGroup(a: WeightMapEntry, b: WeightMapEntry): boolean {
  return (
    a.encoding !== undefined &&
    b.encoding !== undefined &&
    a.encoding.type === b.encoding.type &&
    (a.encoding.type === 'q4' || a.encoding.type === 'q8' || a.encoding.type === 'int8_rows') &&
    a.encoding.input === b.encoding.input &&
    a.encoding.scale_type === b.encoding.scale_type &&
    JSON.stringify(a.sources) === JSON.stringify(b.sources) &&
    JSON.stringify(a.transforms) === JSON.stringify(b.transforms)
  );
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const show = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Writes one graph's files into `<folder>/` of the package. */
export async function applyWeightMap(opts: {
  readonly map: WeightMap;
  /** the templates, and the map's folder in them (`q4`) */
  readonly templates: CheckpointSource;
  readonly templateFolder: string;
  readonly weights: WeightsBySubfolder;
  readonly writer: PackageWriter;
  /** the package folder of the graph's files (`q4`) */
  readonly folder: string;
  readonly stats?: ApplyStats;
  readonly signal?: AbortSignal;
  readonly rowBlockBytes?: number;
}): Promise<string[]> {
  const { map, templates, templateFolder, weights, writer, folder, signal } = opts;
  const stats = opts.stats ?? { bytesRead: 0 };
  const blockBytes = opts.rowBlockBytes ?? ROW_BLOCK_BYTES;
  const graphWhere = `${folder}/${map.graph}`;
  const out = (file: string) => `${folder}/${file}`;
  const written: string[] = [];

  const template = await templates.open(`${templateFolder}/${map.template}`, signal);
  await writer.writeFile(out(map.template), await template.read(0, template.size, signal));
  written.push(out(map.template));
  const sizes = new Map<string, number>([[map.template, template.size]]);
  for (const f of map.files) {
    await writer.createFile(out(f.file), f.bytes);
    sizes.set(f.file, f.bytes);
    written.push(out(f.file));
  }
  const constants = map.constants
    ? await templates.open(`${templateFolder}/${map.constants}`, signal)
    : undefined;

  const put = async (e: WeightMapEntry, at: number, bytes: Uint8Array) => {
    const size = sizes.get(e.place.file);
    if (size === undefined)
      throw new CheckpointError(
        `${graphWhere}: entry '${e.name}' is placed in ${e.place.file}, a file the map does not list`,
      );
    if (at < 0 || at + bytes.length > e.place.length || e.place.offset + e.place.length > size)
      throw new CheckpointError(
        `${graphWhere}: entry '${e.name}' encodes past its place (${e.place.length} bytes at ${e.place.offset} of ${e.place.file})`,
      );
    await writer.writeAt(out(e.place.file), e.place.offset + at, bytes);
  };

  const entries = map.entries;
  for (let i = 0; i < entries.length;) {
    signal?.throwIfAborted();
    const e = entries[i]!;
    if (e.constant) {
      if (!constants)
        throw new CheckpointError(
          `${graphWhere}: entry '${e.name}' is a constant but the map names no constants file`,
        );
      if (e.constant.length !== e.place.length)
        throw new CheckpointError(
          `${graphWhere}: constant '${e.name}' has ${e.constant.length} bytes for a place of ${e.place.length}`,
        );
      await put(e, 0, await constants.read(e.constant.offset, e.constant.offset + e.constant.length, signal));
      i++;
      continue;
    }
    let j = i + 1;
    while (j < entries.length && sameGroup(e, entries[j]!)) j++;
    await applyGroup(entries.slice(i, j), { weights, put, stats, blockBytes, signal, graphWhere });
    i = j;
  }
  return written;
}

interface GroupContext {
  readonly weights: WeightsBySubfolder;
  readonly put: (e: WeightMapEntry, at: number, bytes: Uint8Array) => Promise<void>;
  readonly stats: ApplyStats;
  readonly blockBytes: number;
  readonly signal?: AbortSignal;
  readonly graphWhere: string;
}

function checkFinite(values: Float32Array, where: string, firstIndex: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0)
      throw new CheckpointError(
        `${where}: value ${firstIndex + i} is ${v}; a weight must be finite (NaN and Inf are refused)`,
      );
  }
}

async function applyGroup(group: WeightMapEntry[], ctx: GroupContext): Promise<void> {
  const e = group[0]!;
  const enc = e.encoding;
  const sources = e.sources ?? [];
  if (!enc || sources.length !== 1)
    throw new CheckpointError(`${ctx.graphWhere}: entry '${e.name}' needs one source and an encoding`);
  const { subfolder, tensor } = sources[0]!;
  const transforms = e.transforms ?? [];
  const weights = ctx.weights(subfolder);
  if (!weights.has(tensor))
    throw new CheckpointError(
      `${weights.where}: the checkpoint has no tensor '${tensor}', which ${ctx.graphWhere} needs for '${e.name}'`,
    );
  const info = weights.tensor(tensor);
  const where = `${subfolder}/${tensor}`;
  if (!(FLOAT_DTYPES as readonly string[]).includes(info.dtype))
    throw new CheckpointError(
      `${weights.where}: tensor '${tensor}' is ${info.dtype}; ${ctx.graphWhere} needs a float tensor (${FLOAT_DTYPES.join(', ')}) for '${e.name}'`,
    );
  const shapeWhere = `${ctx.graphWhere}: '${e.name}' from ${where}`;
  const result = transformedShape(info.shape, transforms, shapeWhere);
  const mismatch = (expected: string) =>
    new CheckpointError(
      `${where} has shape ${show(info.shape)}, which gives ${show(result)} where the template expects ${expected} ('${e.name}' of ${ctx.graphWhere}; the checkpoint's config does not match the template's)`,
    );
  const f16 = enc.input === 'float16';
  const rounded = (v: Float32Array) => (f16 ? roundThroughExporterFloat16(v) : v);

  const readRows = async (r0: number, r1: number): Promise<Float32Array> => {
    ctx.signal?.throwIfAborted();
    const rowElems = info.shape.length ? count(info.shape.slice(1)) : 1;
    const v =
      info.shape.length === 0
        ? await weights.readFloat32(tensor, ctx.signal)
        : await weights.readRows(tensor, r0, r1, ctx.signal);
    ctx.stats.bytesRead +=
      (info.end - info.begin) * (info.shape.length === 0 ? 1 : (r1 - r0) / info.shape[0]!);
    checkFinite(v, `${weights.where}: tensor '${tensor}'`, r0 * rowElems);
    return v;
  };
  const readWhole = async () => {
    const v = await readRows(0, info.shape[0] ?? 1);
    return applyTransforms({ data: v, shape: info.shape }, transforms, shapeWhere);
  };
  /** row blocks of the source: [r0, r1) with about blockBytes of float32 each */
  const rowBlocks = function* (rows: number, rowElems: number, multiple = 1) {
    let step = Math.max(1, Math.floor(ctx.blockBytes / Math.max(1, rowElems * 4)));
    step = Math.max(multiple, step - (step % multiple));
    for (let r = 0; r < rows; r += step) yield [r, Math.min(rows, r + step)] as const;
  };
  const rows0 = info.shape[0] ?? 1;
  const rowElems0 = count(info.shape.slice(1));
  const streamable = transforms.length === 0 && info.shape.length >= 1;

  switch (enc.type) {
    case 'float32':
    case 'float16':
    case 'token_rows': {
      if (group.length !== 1) throw new CheckpointError(`${ctx.graphWhere}: '${e.name}' grouped`);
      if (!same(result, e.shape)) throw mismatch(show(e.shape));
      const encode = (v: Float32Array, dim: number): Uint8Array => {
        const x = rounded(v);
        if (enc.type === 'float16' || (enc.type === 'token_rows' && enc.format === 'float16'))
          return encodeFloat16(x);
        if (enc.type === 'float32' || enc.format === 'float32')
          return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
        // int8 rows: q from the float32 scale; a float16 graph's table keeps float32(float16(scale))
        if (enc.format === 'int8')
          return int8TableRows(
            encodeInt8Rows(x, dim, enc.scale_type === 'float16' ? 'float16' : 'float32'),
            dim,
          );
        throw new CheckpointError(
          `${ctx.graphWhere}: '${e.name}' has an unknown table format ${JSON.stringify(enc.format)}`,
        );
      };
      const dim = e.shape.length >= 2 ? count(e.shape.slice(1)) : Math.max(1, count(e.shape));
      if (enc.type === 'token_rows' && e.shape.length !== 2)
        throw new CheckpointError(`${ctx.graphWhere}: token table '${e.name}' is not 2-D`);
      // float32 and float16 bytes are per value: any block of them encodes on its own
      const perValue = enc.type !== 'token_rows' || enc.format !== 'int8';
      const reshapesOnly = info.shape.length >= 1 && transforms.every((t) => t.op === 'reshape');
      let at = 0;
      if (streamable || (perValue && reshapesOnly)) {
        for (const [r0, r1] of rowBlocks(rows0, rowElems0)) {
          const bytes = encode(await readRows(r0, r1), dim);
          await ctx.put(e, at, bytes);
          at += bytes.length;
        }
      } else if (perValue && isTranspose2d(transforms, info.shape)) {
        const valueBytes = enc.type === 'float16' || enc.format === 'float16' ? 2 : 4;
        at = await putTransposed(e, info.shape as [number, number], valueBytes, ctx, readRows, (v) =>
          encode(v, dim),
        );
      } else {
        const bytes = encode((await readWhole()).data, dim);
        await ctx.put(e, 0, bytes);
        at = bytes.length;
      }
      checkLength(e, at, ctx);
      return;
    }
    case 'int8_rows': {
      const values = group.find((g) => g.encoding?.part === 'values');
      const scales = group.find((g) => g.encoding?.part === 'scales');
      if (
        result.length !== 2 ||
        (values && !same(result, values.shape)) ||
        (scales && scales.shape[0] !== result[0])
      )
        throw mismatch(show(values?.shape ?? scales?.shape ?? []));
      const variant = enc.scale_type === 'float16' ? 'float16' : 'float32';
      const dim = result[1]!;
      let vAt = 0;
      let sAt = 0;
      const emit = async (v: Float32Array) => {
        const r = encodeInt8Rows(rounded(v), dim, variant);
        if (values)
          await ctx.put(values, vAt, new Uint8Array(r.values.buffer, r.values.byteOffset, r.values.length));
        if (scales) await ctx.put(scales, sAt, r.scaleBytes);
        vAt += r.values.length;
        sAt += r.scaleBytes.length;
      };
      if (streamable) for (const [r0, r1] of rowBlocks(rows0, rowElems0)) await emit(await readRows(r0, r1));
      else await emit((await readWhole()).data);
      if (values) checkLength(values, vAt, ctx);
      if (scales) checkLength(scales, sAt, ctx);
      return;
    }
    case 'q4': {
      const variant: Q4Variant = enc.scale_type === 'float16' ? 'q4f16' : 'q4';
      if ((enc.scale_type === 'float16') !== f16 || (enc.block_size ?? 32) !== 32)
        throw new CheckpointError(
          `${ctx.graphWhere}: '${e.name}': q4 with input ${enc.input} and scale_type ${enc.scale_type} (block ${enc.block_size}) is not an encoding this converter writes`,
        );
      if (result.length !== 2) throw mismatch('a 2-D weight');
      const [k, n] = result as [number, number];
      const nb = q4Blocks(k);
      const blocks = group.find((g) => g.encoding?.part === 'blocks');
      const scales = group.find((g) => g.encoding?.part === 'scales');
      if (blocks && !same(blocks.shape, [n, nb, 16])) throw mismatch(`blocks ${show(blocks.shape)}`);
      if (scales && count(scales.shape) !== n * nb) throw mismatch(`${count(scales.shape)} scales`);
      const sBytes = q4ScaleBytes(variant);
      let col = 0;
      const emit = async (columns: Float32Array) => {
        const c = columns.length / k;
        const q = encodeQ4Columns(columns, k, variant);
        if (blocks) await ctx.put(blocks, col * nb * 16, q.data);
        if (scales) await ctx.put(scales, col * nb * sBytes, q.scales);
        col += c;
      };
      const transposed =
        transforms.length === 1 && transforms[0]!.op === 'transpose' && info.shape.length === 2;
      if (transposed) {
        // B = Wᵀ: the source's rows are B's columns, quantised as they stream
        for (const [r0, r1] of rowBlocks(rows0, rowElems0)) await emit(await readRows(r0, r1));
      } else {
        const b = await readWhole();
        const cols = applyTransforms(b, [{ op: 'transpose', perm: [1, 0] }], shapeWhere);
        await emit(cols.data);
      }
      if (blocks) checkLength(blocks, n * nb * 16, ctx);
      if (scales) checkLength(scales, n * nb * sBytes, ctx);
      return;
    }
    case 'q8': {
      const values = group.find((g) => g.encoding?.part === 'values');
      const scale = group.find((g) => g.encoding?.part === 'scale');
      const zero = group.find((g) => g.encoding?.part === 'zero_point');
      if (values && !same(result, values.shape)) throw mismatch(show(values.shape));
      const twoD = info.shape.length === 2;
      const plainRows = transforms.length === 0 && info.shape.length >= 1;
      const transposed = transforms.length === 1 && transforms[0]!.op === 'transpose' && twoD;
      let s: number;
      if (plainRows || transposed) {
        let a = 0;
        for (const [r0, r1] of rowBlocks(rows0, rowElems0))
          a = maxAbs(rounded(await readRows(r0, r1)), 0, undefined, a);
        s = q8Scale(a);
        if (values) {
          if (plainRows) {
            let at = 0;
            for (const [r0, r1] of rowBlocks(rows0, rowElems0)) {
              const q = encodeQ8(rounded(await readRows(r0, r1)), s);
              await ctx.put(values, at, new Uint8Array(q.buffer, q.byteOffset, q.length));
              at += q.length;
            }
            checkLength(values, at, ctx);
          } else {
            // the int8 result is the source's transpose: through spans, as the float ones
            const at = await putTransposed(values, info.shape as [number, number], 1, ctx, readRows, (v) => {
              const q = encodeQ8(rounded(v), s);
              return new Uint8Array(q.buffer, q.byteOffset, q.length);
            });
            checkLength(values, at, ctx);
          }
        }
      } else {
        const v = rounded((await readWhole()).data);
        s = q8Scale(maxAbs(v));
        if (values) {
          const q = encodeQ8(v, s);
          await ctx.put(values, 0, new Uint8Array(q.buffer, q.byteOffset, q.length));
          checkLength(values, q.length, ctx);
        }
      }
      if (scale) {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setFloat32(0, s, true);
        await ctx.put(scale, 0, b);
        checkLength(scale, 4, ctx);
      }
      if (zero) {
        await ctx.put(zero, 0, new Uint8Array(1));
        checkLength(zero, 1, ctx);
      }
      return;
    }
    default:
      throw new CheckpointError(
        `${ctx.graphWhere}: '${e.name}' has an unknown encoding ${JSON.stringify(enc.type)}`,
      );
  }
}

/** Whether the transforms are one transpose of a 2-D tensor (a Linear weight W [N, K] → Wᵀ). */
function isTranspose2d(transforms: readonly Transform[], shape: readonly number[]): boolean {
  const t = transforms[0];
  return transforms.length === 1 && t?.op === 'transpose' && shape.length === 2 && t.perm[0] === 1;
}

/** Bytes as values of their size (aligned: `bytes.byteOffset` a multiple of it). */
function valuesOf(bytes: Uint8Array, valueBytes: 1 | 2 | 4): Uint8Array | Uint16Array | Uint32Array {
  const n = bytes.length / valueBytes;
  if (valueBytes === 1) return bytes;
  return valueBytes === 2
    ? new Uint16Array(bytes.buffer, bytes.byteOffset, n)
    : new Uint32Array(bytes.buffer, bytes.byteOffset, n);
}

/** Row blocks of encoded bytes one span of Wᵀ's columns holds (the span's memory bound). */
export const TRANSPOSE_SPAN_BLOCKS = 4;

/**
 * A per-value encoding (`valueBytes` 1, 2 or 4 a value) of Wᵀ [C, R] for a 2-D W [R, C] read by row
 * blocks: each block is encoded as read, and its values are moved into a span of Wᵀ's columns
 * (R₀ ≤ r < R₁ of every output row). A full span is written in one piece when it holds all R
 * (a tensor whose encoding fits it), else as C pieces, one per output row. Holds one row block
 * and one span (about `TRANSPOSE_SPAN_BLOCKS` row blocks of encoded bytes), never the tensor.
 */
async function putTransposed(
  e: WeightMapEntry,
  [rows, cols]: readonly [number, number],
  valueBytes: 1 | 2 | 4,
  ctx: GroupContext,
  readRows: (r0: number, r1: number) => Promise<Float32Array>,
  encode: (v: Float32Array) => Uint8Array,
): Promise<number> {
  const rowBytes = Math.max(1, cols * valueBytes);
  const blockRows = Math.max(1, Math.floor(ctx.blockBytes / Math.max(1, cols * 4)));
  const spanRows = Math.min(
    rows,
    Math.max(blockRows, Math.floor((TRANSPOSE_SPAN_BLOCKS * ctx.blockBytes) / rowBytes)),
  );
  const span = new Uint8Array(spanRows * cols * valueBytes);
  for (let s0 = 0; s0 < rows; s0 += spanRows) {
    const s1 = Math.min(rows, s0 + spanRows);
    const width = s1 - s0;
    const out = span.subarray(0, width * cols * valueBytes);
    const outValues = valuesOf(out, valueBytes);
    for (let r0 = s0; r0 < s1; r0 += blockRows) {
      const r1 = Math.min(s1, r0 + blockRows);
      let bytes = encode(await readRows(r0, r1));
      if (bytes.length !== (r1 - r0) * cols * valueBytes)
        throw new CheckpointError(
          `${ctx.graphWhere}: '${e.name}' encodes ${bytes.length} bytes for ${(r1 - r0) * cols} values of ${valueBytes} bytes`,
        );
      if (bytes.byteOffset % valueBytes !== 0) bytes = bytes.slice();
      transposeInto(valuesOf(bytes, valueBytes), r1 - r0, cols, outValues, width, r0 - s0);
    }
    if (width === rows) await ctx.put(e, 0, out);
    else
      for (let c = 0; c < cols; c++)
        await ctx.put(
          e,
          (c * rows + s0) * valueBytes,
          out.subarray(c * width * valueBytes, (c + 1) * width * valueBytes),
        );
  }
  return rows * cols * valueBytes;
}

function checkLength(e: WeightMapEntry, n: number, ctx: GroupContext): void {
  if (n !== e.place.length)
    throw new CheckpointError(
      `${ctx.graphWhere}: '${e.name}' encodes to ${n} bytes; its place holds ${e.place.length}`,
    );
}
