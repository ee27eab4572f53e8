/**
 * MatMulNBits weights (4 bits, block 32, symmetric) as the exporter's quantiser writes them
 * (onnxruntime's `MatMulNBitsQuantizer(bits=4, block_size=32, is_symmetric=True)`, which calls
 * MLAS `BlockwiseQuantizer<T, 32, 4, columnwise>::quantizeAndTranspose`).
 *
 * The MatMul weight is B [K, N]; MatMulNBits stores its transpose, one output column n at a time:
 * - `B_Q4`: uint8 [N, blocks, 16], blocks = ⌈K/32⌉; block j of column n holds B[32j .. 32j+31, n],
 *   two values a byte, the even row in the low nibble, the odd row in the high nibble;
 * - `B_scales`: [N, blocks] in the weight's float type (float32 for q4, float16 for q4f16);
 * - no zero-point input (symmetric: the zero point is 8 for every block).
 * Per block: m = the block's value of largest magnitude, with its sign (between a max and a min
 * of equal magnitude, the min); scale = m / −8, stored in the scale type; r = 1/scale as float32
 * from the *stored* scale (0 when the scale is 0); each value q = clamp(roundf(v·r + 8), 0, 15),
 * the +8 added before rounding, roundf rounding halves away from zero.
 * When K is not a multiple of 32 the last block is short: its scale comes from its real rows and
 * the bytes past the last row are 0 (the quantiser's zero-filled buffer, which the kernel never
 * writes). When K is odd, the last byte's high nibble (no row) is not the zero point: the kernel
 * leaves there the high nibble of the byte before it, within its 64-row work block (0 when the
 * last row starts such a block, i.e. K − 1 is a multiple of 64). Found by probing onnxruntime
 * 1.32's `quantize_matmul_4bits` (fixture: __fixtures__/quantize.json); MatMulNBits never reads it.
 * q4f16 quantises the fp16 graph's weights: its values are first rounded through the exporter's
 * float16 (`roundThroughExporterFloat16`), and its scales are float16 (round to nearest even).
 *
 * Exactness: every step is one float32 operation on float32 values, done in float64 and then
 * rounded once with Math.fround; for ·, / and + of two float32 values that equals the float32
 * result (float64 has more than 2·24 + 2 bits), so no fused multiply-add is modelled: the
 * shipped packages match byte for byte without one (convert/packageBytes.test.ts).
 */
import { float16Bits, float16Value, roundThroughExporterFloat16 } from './quantizeFloat16';

export const Q4_BLOCK = 32;
/** Bytes of one packed block (32 values at 4 bits). */
export const Q4_BLOCK_BYTES = Q4_BLOCK / 2;

export type Q4Variant = 'q4' | 'q4f16';

/** Bytes of one scale: float32 for q4, float16 for q4f16. */
export function q4ScaleBytes(variant: Q4Variant): number {
  return variant === 'q4' ? 4 : 2;
}

/** Blocks per output column for a reduction size K. */
export function q4Blocks(k: number): number {
  return Math.ceil(k / Q4_BLOCK);
}

/** Sizes of a [K, N] weight's two MatMulNBits tensors. */
export function q4Sizes(k: number, n: number, variant: Q4Variant): { dataBytes: number; scaleBytes: number } {
  const blocks = q4Blocks(k);
  return { dataBytes: n * blocks * Q4_BLOCK_BYTES, scaleBytes: n * blocks * q4ScaleBytes(variant) };
}

/** Packed blocks and scales of some output columns; each a contiguous piece of its tensor. */
export interface Q4Columns {
  /** [columns, blocks, 16] bytes, at column₀ · blocks · 16 in `B_Q4`. */
  readonly data: Uint8Array;
  /** [columns, blocks] little-endian scales, at column₀ · blocks · scaleBytes in `B_scales`. */
  readonly scales: Uint8Array;
}

const f32 = Math.fround;

/**
 * clamp(roundf(x), 0, 15) for a float32 x. roundf rounds halves away from zero; every x below
 * 0.5 ends at 0 after the clamp, and for 0.5 ≤ x < 15.5, x + 0.5 is exact in float64 (x has at
 * most 24 significant bits), so truncating it is roundf. NaN (0 · ∞, only in a block whose
 * largest magnitude is below 2⁻¹²⁵, where the reciprocal overflows) gives 0 here; that case is
 * not checked against the kernel.
 */
function nibble(x: number): number {
  return x >= 15.5 ? 15 : x < 0.5 ? 0 : (x + 0.5) | 0;
}

/**
 * Quantise one block: `count` values read at src[at + i·stride]. Writes 16 bytes at out[outAt]
 * and returns the stored scale as a float32 number (float16-rounded for q4f16). `carry` is the
 * high nibble the kernel holds when the block starts (see the header; used only when K is odd).
 */
function quantizeBlock(
  src: Float32Array,
  at: number,
  stride: number,
  count: number,
  variant: Q4Variant,
  out: Uint8Array,
  outAt: number,
  carry: number,
): number {
  let min = 3.4028234663852886e38;
  let max = -min;
  for (let i = 0, p = at; i < count; i++, p += stride) {
    const v = src[p];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const m = Math.abs(max) > Math.abs(min) ? max : min;
  let scale = f32(m / -8);
  if (variant === 'q4f16') scale = float16Value(float16Bits(scale));
  const reciprocal = scale === 0 ? 0 : f32(1 / scale);
  let hi = carry;
  for (let i = 0, p = at; i < Q4_BLOCK; i += 2, p += 2 * stride) {
    if (i >= count) {
      out[outAt + (i >> 1)] = 0;
      continue;
    }
    const lo = nibble(f32(f32(src[p] * reciprocal) + 8));
    if (i + 1 < count) hi = nibble(f32(f32(src[p + stride] * reciprocal) + 8));
    out[outAt + (i >> 1)] = lo | (hi << 4);
  }
  return scale;
}

/** The kernel's high nibble entering block j of a column whose previous byte is `previous`. */
function carryInto(j: number, previous: number): number {
  return j % 2 === 0 ? 0 : previous >> 4; // work blocks are 64 rows: two quantisation blocks
}

function writeScale(view: DataView, index: number, scale: number, variant: Q4Variant): void {
  if (variant === 'q4') view.setFloat32(index * 4, scale, true);
  else view.setUint16(index * 2, float16Bits(scale), true);
}

/** The float16-rounded copy of the block being encoded (reused: encoding is synchronous). */
let scratch = new Float32Array(0);

function prepared(src: Float32Array, variant: Q4Variant): Float32Array {
  if (variant === 'q4') return src;
  if (scratch.length < src.length) scratch = new Float32Array(src.length);
  return roundThroughExporterFloat16(src, scratch.subarray(0, src.length));
}

/**
 * Quantise whole output columns: `columns` holds `count` rows of K values, row c being column
 * n₀ + c of B (so a torch Linear weight [N, K] streams row block by row block, as stored).
 */
export function encodeQ4Columns(columns: Float32Array, k: number, variant: Q4Variant): Q4Columns {
  if (!(k > 0) || columns.length % k !== 0)
    throw new RangeError(`q4: ${columns.length} values are not whole columns of K = ${k}`);
  const src = prepared(columns, variant);
  const count = columns.length / k;
  const blocks = q4Blocks(k);
  const data = new Uint8Array(count * blocks * Q4_BLOCK_BYTES);
  const scales = new Uint8Array(count * blocks * q4ScaleBytes(variant));
  const view = new DataView(scales.buffer);
  for (let c = 0; c < count; c++) {
    for (let j = 0; j < blocks; j++) {
      const first = j * Q4_BLOCK;
      const n = Math.min(Q4_BLOCK, k - first);
      const index = c * blocks + j;
      const at = index * Q4_BLOCK_BYTES;
      const carry = carryInto(j, j > 0 ? data[at - 1] : 0);
      const scale = quantizeBlock(src, c * k + first, 1, n, variant, data, at, carry);
      writeScale(view, index, scale, variant);
    }
  }
  return { data, scales };
}

/** Blocks j₀ … j₀+blocks−1 of every output column, from a block of rows of B [K, N]. */
export interface Q4RowBlock {
  readonly firstBlock: number;
  readonly blocks: number;
  /** [N, blocks, 16]: column n's piece goes to (n · ⌈K/32⌉ + firstBlock) · 16 in `B_Q4`. */
  readonly data: Uint8Array;
  /** [N, blocks] scales: column n's piece goes to (n · ⌈K/32⌉ + firstBlock) · scaleBytes. */
  readonly scales: Uint8Array;
}

/** Quantises B [K, N] (row-major, as a MatMul initializer is stored) row block by row block. */
export interface Q4RowEncoder {
  /** The next rows, in order: a multiple of 32 of them, unless they end at K. */
  encode(rows: Float32Array): Q4RowBlock;
  /** Rows encoded so far. */
  readonly rowsDone: number;
}

export function createQ4RowEncoder(k: number, n: number, variant: Q4Variant): Q4RowEncoder {
  if (!(k > 0 && n > 0)) throw new RangeError(`q4: a weight of K = ${k}, N = ${n}`);
  let rowStart = 0;
  // the last byte's high nibble of each column's latest block (the kernel's carry, for odd K)
  const lastHigh = new Uint8Array(n);
  return {
    get rowsDone() {
      return rowStart;
    },
    encode(rows) {
      const count = rows.length / n;
      if (!Number.isInteger(count) || count === 0)
        throw new RangeError(`q4: ${rows.length} values are not whole rows of N = ${n}`);
      if (rowStart + count > k || (count % Q4_BLOCK !== 0 && rowStart + count !== k))
        throw new RangeError(
          `q4: rows ${rowStart}..${rowStart + count} of K = ${k} do not cover whole blocks`,
        );
      const src = prepared(rows, variant);
      const blocks = Math.ceil(count / Q4_BLOCK);
      const firstBlock = rowStart / Q4_BLOCK;
      const data = new Uint8Array(n * blocks * Q4_BLOCK_BYTES);
      const scales = new Uint8Array(n * blocks * q4ScaleBytes(variant));
      const view = new DataView(scales.buffer);
      for (let col = 0; col < n; col++) {
        for (let j = 0; j < blocks; j++) {
          const index = col * blocks + j;
          const at = index * Q4_BLOCK_BYTES;
          const length = Math.min(Q4_BLOCK, count - j * Q4_BLOCK);
          const carry = carryInto(firstBlock + j, j > 0 ? data[at - 1] : lastHigh[col] << 4);
          const scale = quantizeBlock(src, j * Q4_BLOCK * n + col, n, length, variant, data, at, carry);
          writeScale(view, index, scale, variant);
        }
        lastHigh[col] = data[(col + 1) * blocks * Q4_BLOCK_BYTES - 1] >> 4;
      }
      rowStart += count;
      return { firstBlock, blocks, data, scales };
    },
  };
}
