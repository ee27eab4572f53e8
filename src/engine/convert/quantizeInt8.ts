/**
 * The exporter's two int8 encodings, a block of rows at a time.
 *
 * int8 rows (the text encoders' token tables in q4, q4f16 and q8; `dtypes.int8_rows`): per row,
 * a = the row's largest |v|, scale = a / 127 in float32 (1 for an all-zero row),
 * q = clamp(rint(v / scale), −127, 127) with v / scale in float32 and rint rounding halves to
 * even. In a graph: `<table>_int8` int8 [rows, dim] and `<table>_int8_scale` [rows, 1] in the
 * graph's float type; in a table file (docs/model-package.md, "Token table") each row is its
 * float32 scale then its dim int8 values. In q4f16 the table is the fp16 graph's (values rounded
 * through the exporter's float16 first); q is computed with the float32 scale, and the scale is
 * then stored as float16, so the table file holds float32(float16(scale)).
 *
 * q8 (`MatMulInteger` weights; onnxruntime's `quantize_dynamic(weight_type=QInt8,
 * per_channel=False)`, symmetric for a signed type): one scale for the whole tensor, so it takes
 * two passes over the rows: a = the tensor's largest |v|; scale = float32((a − (−a)) / 254)
 * computed in float64; if that float64 is below float32's smallest normal, scale = 1. Then
 * q = clamp(rint(v / scale), −128, 127), v / scale in float32. Stored: `B_quantized` int8 with
 * B's shape [K, N] (not transposed), `B_scale` a float32 scalar, `B_zero_point` an int8 0.
 *
 * q8 also quantises a constant *first* input of a MatMul (a value computed at export, e.g. a fixed
 * timestep embedding) as an activation: uint8, asymmetric. lo = min(min(v), 0), hi = max(max(v), 0)
 * (float32); s = (hi − lo) / 255 in float64; if s is below float32's smallest normal, scale = 1 and
 * zero point = 0; else zero point = rint(0 − lo / s) (float64, with the float64 s) and scale =
 * float32(s). q = clamp(rint(v / scale) + zero point, 0, 255), v / scale in float32. Stored:
 * `A_quantized` uint8, `A_scale` float32 scalar, `A_zero_point` uint8 scalar.
 *
 * Exactness: v / scale and a / 127 are single float32 divisions, done in float64 and rounded
 * once by Math.fround, which equals float32 division; rint is applied to that float32 value.
 */
import { float16Bits, float16Value, roundThroughExporterFloat16 } from './quantizeFloat16';

const f32 = Math.fround;
/** float32's smallest normal (numpy.finfo(float32).tiny). */
const FLOAT32_TINY = 2 ** -126;

/** 1.5 · 2⁵²: adding and subtracting it rounds a float64 to an integer, halves to even. */
const RINT = 6755399441055744;

/**
 * Round half to even (numpy's rint/round) of a float64 holding a float32 value: the sum with
 * 1.5 · 2⁵² is rounded by the float64 addition itself (ties to even), exact for |x| < 2⁵¹.
 */
export function roundHalfEven(x: number): number {
  return x + RINT - RINT;
}

/** Largest |v| of a block (NaN never wins: callers refuse NaN weights before encoding). */
export function maxAbs(src: Float32Array, from = 0, to = src.length, start = 0): number {
  let a = start;
  for (let i = from; i < to; i++) {
    const v = Math.abs(src[i]);
    if (v > a) a = v;
  }
  return a;
}

export type Int8RowsVariant = 'float32' | 'float16';

/** Rows quantised to int8, with their scales as the graph stores them. */
export interface Int8Rows {
  readonly values: Int8Array;
  /** Per row, the scale as float32 (for a float16 table, the float16-rounded value). */
  readonly scales: Float32Array;
  /** [rows, 1] scales in the table's float type, little-endian (the graph's `_int8_scale`). */
  readonly scaleBytes: Uint8Array;
}

/**
 * Quantise whole rows of `dim` values. `variant` is the table's float type in its graph:
 * float32 (q4, q8) or float16 (q4f16, whose values are rounded through float16 first).
 */
export function encodeInt8Rows(
  rows: Float32Array,
  dim: number,
  variant: Int8RowsVariant = 'float32',
): Int8Rows {
  if (!(dim > 0) || rows.length % dim !== 0)
    throw new RangeError(`int8 rows: ${rows.length} values are not whole rows of ${dim}`);
  const src = variant === 'float16' ? roundThroughExporterFloat16(rows) : rows;
  const count = rows.length / dim;
  const values = new Int8Array(rows.length);
  const scales = new Float32Array(count);
  const scaleBytes = new Uint8Array(count * (variant === 'float32' ? 4 : 2));
  const view = new DataView(scaleBytes.buffer);
  for (let r = 0; r < count; r++) {
    const at = r * dim;
    let scale = f32(maxAbs(src, at, at + dim) / 127);
    if (scale === 0) scale = 1;
    for (let i = at; i < at + dim; i++) {
      const q = roundHalfEven(f32(src[i] / scale));
      values[i] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
    if (variant === 'float32') {
      scales[r] = scale;
      view.setFloat32(r * 4, scale, true);
    } else {
      const h = float16Bits(scale);
      scales[r] = float16Value(h);
      view.setUint16(r * 2, h, true);
    }
  }
  return { values, scales, scaleBytes };
}

/** Rows in the token table file's layout: per row its float32 scale, then its dim int8 values. */
export function int8TableRows(rows: Int8Rows, dim: number): Uint8Array {
  const count = rows.scales.length;
  const rowBytes = 4 + dim;
  const out = new Uint8Array(count * rowBytes);
  const view = new DataView(out.buffer);
  const bytes = new Uint8Array(rows.values.buffer, rows.values.byteOffset, rows.values.length);
  for (let r = 0; r < count; r++) {
    view.setFloat32(r * rowBytes, rows.scales[r], true);
    out.set(bytes.subarray(r * dim, (r + 1) * dim), r * rowBytes + 4);
  }
  return out;
}

/** The q8 scale of a tensor whose largest |v| is `absMax` (the first pass: `maxAbs` over its blocks). */
export function q8Scale(absMax: number): number {
  const scale = (absMax - -absMax) / 254; // float64, as the quantiser computes it
  return scale < FLOAT32_TINY ? 1 : f32(scale);
}

/** q8 values of a block of the tensor, with the tensor's `q8Scale` (the second pass). */
export function encodeQ8(src: Float32Array, scale: number, out = new Int8Array(src.length)): Int8Array {
  for (let i = 0; i < src.length; i++) {
    const q = roundHalfEven(f32(src[i] / scale));
    out[i] = q > 127 ? 127 : q < -128 ? -128 : q;
  }
  return out;
}

/** The smallest and largest values of a block, folded into `into` ([min, max], NaN skipped). */
export function minMax(src: Float32Array, into: [number, number] = [Infinity, -Infinity]): [number, number] {
  let [lo, hi] = into;
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** The q8 activation (uint8, asymmetric) scale and zero point of a constant with this range. */
export function q8Uint8Params([min, max]: readonly [number, number]): { scale: number; zeroPoint: number } {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = (hi - lo) / 255; // float64, as the quantiser computes it
  if (scale < FLOAT32_TINY) return { scale: 1, zeroPoint: 0 };
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(0 - lo / scale)));
  return { scale: f32(scale), zeroPoint };
}

/** uint8 values of a block of a constant activation, with its `q8Uint8Params`. */
export function encodeQ8Uint8(
  src: Float32Array,
  params: { scale: number; zeroPoint: number },
  out = new Uint8Array(src.length),
): Uint8Array {
  for (let i = 0; i < src.length; i++) {
    const q = f32(roundHalfEven(f32(src[i] / params.scale)) + params.zeroPoint);
    out[i] = q > 255 ? 255 : q < 0 ? 0 : q;
  }
  return out;
}
