/**
 * fp16 and bf16 → float32 on every one of the 65,536 bit patterns, bit for bit, against values
 * computed from the formats' definitions (IEEE 754 binary16; bfloat16 = float32's top half).
 */
import { describe, expect, it } from 'vitest';
import { bf16ToFloat32, fp16ToFloat32 } from './halfFloat';
import { fp16Bits } from './testing/safetensorsWriter';

function allPatterns(): Uint8Array {
  return new Uint8Array(Uint16Array.from({ length: 65536 }, (_, i) => i).buffer);
}
const bitsOf = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length);

describe('half-precision to float32', () => {
  it('fp16: every pattern equals its definition (normals, subnormals, ±0, ±Inf; NaN payload kept)', () => {
    const got = fp16ToFloat32(allPatterns());
    const gotBits = bitsOf(got);
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      if (e === 0x1f && m !== 0) {
        // NaN: float32 NaN with the 10 payload bits at the top of the mantissa, sign kept
        const want = ((h & 0x8000) << 16) | 0x7f800000 | (m << 13);
        if (gotBits[h] !== want >>> 0) wrong.push(h);
        continue;
      }
      const want =
        e === 0x1f ? sign * Infinity : e === 0 ? sign * m * 2 ** -24 : sign * 2 ** (e - 15) * (1 + m / 1024);
      if (!Object.is(got[h], want)) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('fp16: the smallest subnormal, the largest normal, -0', () => {
    const v = fp16ToFloat32(new Uint8Array([0x01, 0x00, 0xff, 0x7b, 0x00, 0x80]));
    expect(Array.from(v)).toEqual([2 ** -24, 65504, -0]);
    expect(Object.is(v[2], -0)).toBe(true);
  });

  it('fp16: float32 → fp16 → float32 gives the pattern back (the test writer agrees with the reader)', () => {
    const got = fp16ToFloat32(allPatterns());
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) if (!Number.isNaN(got[h]) && fp16Bits(got[h]!) !== h) wrong.push(h);
    expect(wrong).toEqual([]);
  });

  it('bf16: every pattern is the float32 with those 16 bits on top', () => {
    const got = bitsOf(bf16ToFloat32(allPatterns()));
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) if (got[h] !== (h << 16) >>> 0) wrong.push(h);
    expect(wrong).toEqual([]);
  });

  it('odd byte offsets in the input are read correctly', () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x3c, 0x80, 0x3f]).subarray(1); // 1.0 (fp16), 1.0 (bf16)
    expect(fp16ToFloat32(bytes.subarray(0, 2))[0]).toBe(1);
    expect(bf16ToFloat32(bytes.subarray(2, 4))[0]).toBe(1);
  });
});
