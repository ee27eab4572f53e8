/**
 * Half-precision checkpoint values to float32, exactly. Every fp16 and bf16 value is a float32
 * value, so neither conversion rounds:
 * - bf16 is the high half of a float32: its bits shifted left by 16;
 * - fp16 goes through a 65,536-entry table built from the bit layout (normal numbers re-biased,
 *   subnormals normalised, ±0, ±Inf and NaN payloads kept).
 * Inputs are little-endian, as safetensors stores them; the host is assumed little-endian too
 * (every browser and node target is), so float32 words are copied as they are.
 */

let fp16Table: Uint32Array | undefined;

/** The float32 bits of one fp16 bit pattern. */
export function fp16BitsToFp32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // Inf, NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0; // ±0
  // subnormal: mant · 2^-24, normalised for float32
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

function table(): Uint32Array {
  if (!fp16Table) {
    fp16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) fp16Table[h] = fp16BitsToFp32Bits(h);
  }
  return fp16Table;
}

/** fp16 little-endian bytes (an even count) to float32 values. */
export function fp16ToFloat32(bytes: Uint8Array): Float32Array {
  const t = table();
  const n = bytes.byteLength >> 1;
  const bits = new Uint32Array(n); // bits, not numbers: a NaN's payload survives
  for (let i = 0, j = 0; i < n; i++, j += 2) bits[i] = t[bytes[j]! | (bytes[j + 1]! << 8)]!;
  return new Float32Array(bits.buffer);
}

/** bf16 little-endian bytes (an even count) to float32 values. */
export function bf16ToFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength >> 1;
  const bits = new Uint32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 2) bits[i] = ((bytes[j]! | (bytes[j + 1]! << 8)) << 16) >>> 0;
  return new Float32Array(bits.buffer);
}

/** float32 little-endian bytes to float32 values (a copy, aligned, never a view of `bytes`). */
export function f32BytesToFloat32(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer, 0, bytes.byteLength >> 2);
}
