/**
 * The encoders' rules on edge cases, against bytes the exporter's own quantisers made
 * (fixture: __fixtures__/quantize.json, made by __fixtures__/make_quantize_fixtures.py with
 * tools/export's venv). The shipped package's weights (packageBytes.test.ts) rarely hit exact
 * ties, short blocks or float16's edges; these inputs are chosen to.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  encodeFloat16,
  exporterFloat16Bits,
  float16Bits,
  float16Value,
  roundThroughExporterFloat16,
} from './quantizeFloat16';
import {
  encodeInt8Rows,
  encodeQ8,
  encodeQ8Uint8,
  int8TableRows,
  maxAbs,
  minMax,
  q8Scale,
  q8Uint8Params,
  roundHalfEven,
} from './quantizeInt8';
import { encodeQ4Columns, createQ4RowEncoder, q4Blocks, q4Sizes, type Q4Variant } from './quantizeQ4';

interface Q4Case {
  name: string;
  k: number;
  n: number;
  w: number[];
  q4: { data: string; scales: string };
  q4f16: { data: string; scales: string };
}
interface Q8Case {
  name: string;
  k: number;
  n: number;
  w: number[];
  quantized: string;
  scale: string;
  zero_point: string;
  /** a constant first input, quantised as a uint8 activation */
  a?: number[];
  a_quantized?: string;
  a_scale?: string;
  a_zero_point?: string;
}
interface TableCase {
  name: string;
  rows: number;
  dim: number;
  values: number[];
  float32: { values: string; scales: string };
  float16: { values: string; scales: string };
}
const fixture = JSON.parse(
  readFileSync(new URL('./__fixtures__/quantize.json', import.meta.url), 'utf8'),
) as {
  q4: Q4Case[];
  q8: Q8Case[];
  int8_rows: TableCase[];
  fp16: { input: number[]; exporter: number[]; ieee: number[] };
};

const floatsOfBits = (b: number[]) => new Float32Array(new Uint32Array(b).buffer);
const hex = (bytes: Uint8Array | Int8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j];
  return t;
}

describe('q4 / q4f16 MatMulNBits blocks', () => {
  for (const c of fixture.q4) {
    for (const variant of ['q4', 'q4f16'] as Q4Variant[]) {
      it(`${variant}: ${c.name}`, () => {
        const w = floatsOfBits(c.w);
        const byColumns = encodeQ4Columns(transpose(w, c.k, c.n), c.k, variant);
        expect(hex(byColumns.data)).toBe(c[variant].data);
        expect(hex(byColumns.scales)).toBe(c[variant].scales);
        // rows of B [K, N] in blocks of 32 or 64 rows give the same bytes, column piece by piece
        // (with 32, a one-row last block arrives alone: the odd-K nibble carries across calls)
        for (const step of [32, 64]) {
          const sizes = q4Sizes(c.k, c.n, variant);
          const data = new Uint8Array(sizes.dataBytes);
          const scales = new Uint8Array(sizes.scaleBytes);
          const sb = sizes.scaleBytes / (c.n * q4Blocks(c.k));
          const encoder = createQ4RowEncoder(c.k, c.n, variant);
          for (let r = 0; r < c.k; r += step) {
            const p = encoder.encode(w.subarray(r * c.n, Math.min(c.k, r + step) * c.n));
            for (let col = 0; col < c.n; col++) {
              const at = col * q4Blocks(c.k) + p.firstBlock;
              data.set(p.data.subarray(col * p.blocks * 16, (col + 1) * p.blocks * 16), at * 16);
              scales.set(p.scales.subarray(col * p.blocks * sb, (col + 1) * p.blocks * sb), at * sb);
            }
          }
          expect(hex(data), `rows by ${step}`).toBe(c[variant].data);
          expect(hex(scales), `rows by ${step}`).toBe(c[variant].scales);
        }
      });
    }
  }

  it('refuses blocks that are not whole columns or whole 32-row blocks', () => {
    expect(() => encodeQ4Columns(new Float32Array(10), 3, 'q4')).toThrow(/not whole columns of K = 3/);
    expect(() => createQ4RowEncoder(64, 2, 'q4').encode(new Float32Array(40))).toThrow(
      /do not cover whole blocks/,
    );
    const encoder = createQ4RowEncoder(64, 2, 'q4');
    encoder.encode(new Float32Array(64));
    expect(() => encoder.encode(new Float32Array(128))).toThrow(/rows 32..96 of K = 64/);
  });
});

describe('q8 MatMulInteger weights', () => {
  for (const c of fixture.q8) {
    it(c.name, () => {
      const w = floatsOfBits(c.w);
      // two passes over row blocks: the largest magnitude, then the values
      let absMax = 0;
      for (let r = 0; r < c.k; r += 3)
        absMax = maxAbs(w.subarray(r * c.n, (r + 3) * c.n), 0, undefined, absMax);
      const scale = q8Scale(absMax);
      const q = new Int8Array(w.length);
      for (let r = 0; r < c.k; r += 3) q.set(encodeQ8(w.subarray(r * c.n, (r + 3) * c.n), scale), r * c.n);
      expect(hex(q)).toBe(c.quantized);
      expect(hex(new Uint8Array(new Float32Array([scale]).buffer))).toBe(c.scale);
      expect(c.zero_point).toBe('00');
      if (c.a) {
        const a = floatsOfBits(c.a);
        const half = a.length >> 1; // two blocks: the range over both, then each block
        const params = q8Uint8Params(minMax(a.subarray(half), minMax(a.subarray(0, half))));
        const qa = new Uint8Array(a.length);
        qa.set(encodeQ8Uint8(a.subarray(0, half), params));
        qa.set(encodeQ8Uint8(a.subarray(half), params), half);
        expect(hex(qa)).toBe(c.a_quantized);
        expect(hex(new Uint8Array(new Float32Array([params.scale]).buffer))).toBe(c.a_scale);
        expect(params.zeroPoint.toString(16).padStart(2, '0')).toBe(c.a_zero_point);
      }
    });
  }
});

describe('int8 rows (token tables)', () => {
  for (const c of fixture.int8_rows) {
    for (const variant of ['float32', 'float16'] as const) {
      it(`${variant} table: ${c.name}`, () => {
        const rows = encodeInt8Rows(floatsOfBits(c.values), c.dim, variant);
        expect(hex(rows.values)).toBe(c[variant].values);
        expect(hex(rows.scaleBytes)).toBe(c[variant].scales);
      });
    }
  }

  it('lays out table file rows as a float32 scale then dim int8 values', () => {
    const rows = encodeInt8Rows(new Float32Array([254, -127, 0, 0]), 2);
    const file = int8TableRows(rows, 2);
    const view = new DataView(file.buffer);
    expect(file.length).toBe(2 * 6);
    expect([view.getFloat32(0, true), view.getInt8(4), view.getInt8(5)]).toEqual([2, 127, -64]);
    expect([view.getFloat32(6, true), view.getInt8(10), view.getInt8(11)]).toEqual([1, 0, 0]);
  });
});

describe('float16', () => {
  const input = floatsOfBits(fixture.fp16.input);

  it('the exporter fp16 converter: clamps to the smallest subnormal and to ±65504', () => {
    const bytes = encodeFloat16(input);
    const got = Array.from(new Uint16Array(bytes.buffer));
    const first = got.findIndex((h, i) => h !== fixture.fp16.exporter[i]);
    expect(first, `first difference at input ${input[first]}`).toBe(-1);
    expect(got.map((_, i) => exporterFloat16Bits(input[i]))).toEqual(fixture.fp16.exporter);
  });

  it('IEEE round to nearest even, as numpy astype(float16)', () => {
    const got = Array.from(input, (x) => float16Bits(x));
    const first = got.findIndex((h, i) => h !== fixture.fp16.ieee[i]);
    expect(first, `first difference at input ${input[first]}`).toBe(-1);
  });

  it('writes the same bytes into an output at an odd byte offset', () => {
    const values = input.subarray(0, 64);
    const out = new Uint8Array(1 + 128);
    encodeFloat16(values, out.subarray(1));
    expect(hex(out.subarray(1))).toBe(hex(encodeFloat16(values)));
    expect(() => encodeFloat16(values, new Uint8Array(127))).toThrow(/127 bytes, 128 needed/);
  });

  it('round trips every float16 value and keeps NaN a NaN', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = float16Value(h);
      if (Number.isNaN(x)) expect(float16Bits(x) & 0x7c00).toBe(0x7c00);
      else expect(float16Bits(x)).toBe(h);
    }
    expect(exporterFloat16Bits(NaN) & 0x7fff).toBeGreaterThan(0x7c00);
    expect(Array.from(roundThroughExporterFloat16(new Float32Array([1e-9, 1e6])))).toEqual([2 ** -24, 65504]);
  });
});

describe('rounding helpers', () => {
  it('rounds halves to even', () => {
    const cases = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999998, 126.5, -127.5, 3.5000002];
    expect(cases.map((x) => roundHalfEven(x) + 0)).toEqual([-2, -2, 0, 0, 2, 2, 2, 126, -128, 4]);
  });
});
