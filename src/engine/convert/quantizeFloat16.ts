/**
 * float32 → float16 as the exporter stores it, a block of values at a time.
 *
 * Two conversions, both round to nearest, ties to even, on the float32 bit pattern (so no
 * float64 double rounding can creep in), subnormals included:
 * - `float16Bits`: the plain IEEE conversion, numpy's `astype(np.float16)` and onnxruntime's
 *   `MLFloat16(float)` (the q4f16 scales, the int8 tables' float16 scales);
 * - `exporterFloat16Bits`: onnxruntime's fp16 graph converter (`convert_np_to_float16`), which
 *   first clamps: a finite non-zero value that would round to ±0 becomes ±2⁻²⁴ (the smallest
 *   subnormal; the converter maps |x| < 5.96e-8 to 5.96e-8, which rounds to 2⁻²⁴), and a finite
 *   |x| > 65504 becomes ±65504 instead of ±Inf. NaN and ±Inf pass through. This is what every
 *   float16 weight of an fp16 or q4f16 graph holds.
 */

const SCRATCH = new Float32Array(1);
const SCRATCH_BITS = new Uint32Array(SCRATCH.buffer);

/** float16 bits of the float32 whose bits are `f` (round to nearest even). */
function bitsOfFloat32Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    // NaN keeps its top payload bits (numpy's rule), and stays a NaN
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 1 : payload);
  }
  if (exp >= 143) return sign | 0x7c00; // ≥ 2¹⁶: past float16's range whatever the rounding
  if (exp >= 113) {
    // normal: drop 13 mantissa bits; a carry may run into the exponent (up to Inf), as it should
    let h = ((exp - 112) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  // subnormal (or zero): the value in units of 2⁻²⁴ is sig · 2^(exp − 126)
  const shift = 126 - exp;
  if (shift > 24) return sign; // below 2⁻²⁵: rounds to zero
  const sig = mant | 0x800000;
  let q = sig >>> shift;
  const rest = sig & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (q & 1) === 1)) q += 1;
  return sign | q; // q may reach 0x400, the smallest normal: the bit pattern is still right
}

/** IEEE float16 bits of `x` (taken as float32 first), round to nearest even. */
export function float16Bits(x: number): number {
  SCRATCH[0] = x;
  return bitsOfFloat32Bits(SCRATCH_BITS[0]);
}

/** The fp16 graph converter's clamp applied to a float16 result `h` of the float32 bits `f`. */
function clampExporter(h: number, f: number): number {
  const magnitude = h & 0x7fff;
  if (magnitude === 0 && (f & 0x7fffffff) !== 0) return h | 1; // non-zero to the smallest subnormal
  if (magnitude === 0x7c00 && (f & 0x7f800000) !== 0x7f800000) return (h & 0x8000) | 0x7bff; // ±65504
  return h;
}

/** float16 bits of `x` as onnxruntime's fp16 graph converter stores it (see the file header). */
export function exporterFloat16Bits(x: number): number {
  SCRATCH[0] = x;
  const f = SCRATCH_BITS[0];
  return clampExporter(bitsOfFloat32Bits(f), f);
}

/** The value of float16 bits `h` (exact in float32). */
export function float16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

let valueTable: Float32Array | undefined;

/** float16 bits → value, all 65,536 of them (256 KiB, built on first use). */
function float16Values(): Float32Array {
  if (!valueTable) {
    valueTable = new Float32Array(0x10000);
    for (let h = 0; h < 0x10000; h++) valueTable[h] = float16Value(h);
  }
  return valueTable;
}

/** Whether typed arrays are little-endian here (every browser and node target is). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bitsView(src: Float32Array): Uint32Array {
  return new Uint32Array(src.buffer, src.byteOffset, src.length);
}

/**
 * Float32 values as the exporter's float16 weight bytes (little-endian, 2 per value); `out`
 * (2·length bytes) is filled when given. Works on any block of a tensor: the rule is per value.
 */
export function encodeFloat16(src: Float32Array, out?: Uint8Array): Uint8Array {
  const bytes = out ?? new Uint8Array(src.length * 2);
  if (bytes.length < src.length * 2)
    throw new RangeError(`float16 output holds ${bytes.length} bytes, ${src.length * 2} needed`);
  const bits = bitsView(src);
  if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, src.length);
    for (let i = 0; i < bits.length; i++) {
      const f = bits[i];
      halves[i] = clampExporter(bitsOfFloat32Bits(f), f);
    }
    return bytes;
  }
  for (let i = 0; i < bits.length; i++) {
    const f = bits[i];
    const h = clampExporter(bitsOfFloat32Bits(f), f);
    bytes[2 * i] = h & 0xff;
    bytes[2 * i + 1] = h >>> 8;
  }
  return bytes;
}

/**
 * Float32 values rounded through the exporter's float16 (in place when `out` is `src`): the
 * weights of an fp16 graph as float32, which the q4f16 and fp16-table encoders start from.
 */
export function roundThroughExporterFloat16(
  src: Float32Array,
  out = new Float32Array(src.length),
): Float32Array {
  const bits = bitsView(src);
  const values = float16Values();
  for (let i = 0; i < bits.length; i++) {
    const f = bits[i];
    out[i] = values[clampExporter(bitsOfFloat32Bits(f), f)];
  }
  return out;
}
