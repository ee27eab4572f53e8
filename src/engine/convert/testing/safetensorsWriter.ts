/**
 * A small safetensors writer for tests: the layout the `safetensors` library writes (8-byte
 * little-endian header length, JSON header padded with spaces to a multiple of 8, the tensors'
 * bytes in header order), plus float32 → F16 / BF16 encoders (round to nearest even) so a test can
 * store one set of values in every float dtype.
 */

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** little-endian bytes */
  readonly data: Uint8Array;
}

type Utf8Encoder = { encode(text: string): Uint8Array };
const encoder = new (globalThis as unknown as { TextEncoder: new () => Utf8Encoder }).TextEncoder();

/** A safetensors file's bytes. `header` overrides the header's JSON text (to write a lying one). */
export function writeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = { format: 'pt' },
  header?: string,
): Uint8Array {
  const json: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    json[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let text = header ?? JSON.stringify(json);
  while (encoder.encode(text).byteLength % 8) text += ' ';
  const head = encoder.encode(text);
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const t of tensors) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/** float32 values as F32 bytes. */
export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function f32Bits(v: number): number {
  return new Uint32Array(Float32Array.of(v).buffer)[0]!;
}

/** float32 → bf16 bits, round to nearest even (NaN stays NaN). */
export function bf16Bits(v: number): number {
  const b = f32Bits(v);
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 → fp16 bits, round to nearest even (overflow to Inf, NaN stays NaN). */
export function fp16Bits(v: number): number {
  const b = f32Bits(v);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

function u16Bytes(bits: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Uint16Array.from(bits).buffer);
}

/** float32 values as F16 bytes. */
export function f16Bytes(values: ArrayLike<number>): Uint8Array {
  return u16Bytes(Array.from(values, fp16Bits));
}

/** float32 values as BF16 bytes. */
export function bf16Bytes(values: ArrayLike<number>): Uint8Array {
  return u16Bytes(Array.from(values, bf16Bits));
}
