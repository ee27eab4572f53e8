/**
 * The weight map's transforms against numpy: the expected values were printed by the exporter's
 * applier (`tools/export/editmgt_export/weightmap.py` `apply_transform`) on
 * `np.arange(24, dtype=np.float32).reshape(2, 3, 4)`. Also Python's float repr and
 * `json.dumps(indent=1)` layout, which the converted manifest must match byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { parsePyJson, pyFloat, pyJsonText } from './pyJson';
import { applyTransforms, GATHER_COPY_RUN, transformedShape, transposeInto } from './transforms';
import type { Transform } from './transforms';

const X = { data: Float32Array.from({ length: 24 }, (_, i) => i), shape: [2, 3, 4] };
const T = [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23];

const CASES: [Transform[], number[], number[]][] = [
  [[{ op: 'transpose', perm: [2, 0, 1] }], [4, 2, 3], T],
  [
    [
      { op: 'reshape', shape: [6, 4] },
      { op: 'transpose', perm: [1, 0] },
    ],
    [4, 6],
    T,
  ],
  [[{ op: 'gather', axis: 2, indices: 0 }], [2, 3], [0, 4, 8, 12, 16, 20]],
  [
    [
      {
        op: 'gather',
        axis: 1,
        indices: [
          [2, 0],
          [1, -1],
        ],
      },
    ],
    [2, 2, 2, 4],
    [
      8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 20, 21, 22, 23, 12, 13, 14, 15, 16, 17, 18, 19, 20,
      21, 22, 23,
    ],
  ],
  [
    [
      {
        op: 'slice',
        axes: [
          { axis: 2, start: 3, stop: -1, step: -2 },
          { axis: 1, start: 1, stop: 3, step: 1 },
        ],
      },
    ],
    [2, 2, 2],
    [7, 5, 11, 9, 19, 17, 23, 21],
  ],
  [
    [{ op: 'slice', axes: [{ axis: 0, start: 0, stop: 2, step: 2 }] }],
    [1, 3, 4],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  ],
];

describe('transposeInto (a transpose in row blocks)', () => {
  it('fills Wᵀ block by block as the whole transpose does, for odd sizes and blocks', () => {
    for (const [rows, cols, block] of [
      [67, 131, 5],
      [130, 3, 64],
      [1, 200, 1],
      [129, 65, 129],
    ] as const) {
      const w = Float32Array.from({ length: rows * cols }, (_, i) => i * 0.5 - 7);
      const whole = applyTransforms(
        { data: w, shape: [rows, cols] },
        [{ op: 'transpose', perm: [1, 0] }],
        'w',
      );
      const bits = new Uint32Array(w.buffer);
      const out = new Uint32Array(rows * cols);
      for (let r0 = 0; r0 < rows; r0 += block) {
        const r1 = Math.min(rows, r0 + block);
        transposeInto(bits.subarray(r0 * cols, r1 * cols), r1 - r0, cols, out, rows, r0);
      }
      expect(new Float32Array(out.buffer)).toEqual(whole.data);
    }
  });

  it('refuses a block that does not fit', () => {
    expect(() => transposeInto(new Uint16Array(6), 2, 3, new Uint16Array(6), 2, 1)).toThrow(/does not fit/);
  });
});

describe('gather, runs copied value by value and as blocks', () => {
  it('takes the same values either way', () => {
    for (const inner of [1, 2, GATHER_COPY_RUN - 1, GATHER_COPY_RUN, GATHER_COPY_RUN + 3]) {
      const shape = [3, 4, inner];
      const x = { data: Float32Array.from({ length: 12 * inner }, (_, i) => i * 1.5), shape };
      const y = applyTransforms(x, [{ op: 'gather', axis: 1, indices: [3, -4, 1] }], 'test');
      expect(y.shape).toEqual([3, 3, inner]);
      const expected: number[] = [];
      for (let a = 0; a < 3; a++)
        for (const p of [3, 0, 1])
          for (let i = 0; i < inner; i++) expected.push(((a * 4 + p) * inner + i) * 1.5);
      expect([...y.data]).toEqual(expected);
    }
  });
});

describe('weight-map transforms (numpy semantics)', () => {
  it.each(CASES.map((c, i) => [i, ...c] as const))('case %i', (_, transforms, shape, values) => {
    expect(transformedShape(X.shape, transforms, 'test')).toEqual(shape);
    const y = applyTransforms(X, transforms, 'test');
    expect(y.shape).toEqual(shape);
    expect([...y.data]).toEqual(values);
    expect([...X.data]).toEqual(Array.from({ length: 24 }, (_, i) => i)); // input untouched
  });

  it('refuses what numpy refuses, naming the entry', () => {
    expect(() => transformedShape([2, 3], [{ op: 'reshape', shape: [4, 2] }], 'w')).toThrow(
      'w: cannot reshape [2,3] into [4,2]',
    );
    expect(() => transformedShape([2, 3], [{ op: 'transpose', perm: [0, 0] }], 'w')).toThrow(
      /w: transpose perm/,
    );
    expect(() => transformedShape([2, 3], [{ op: 'gather', axis: 1, indices: 3 }], 'w')).toThrow(
      'w: gather index 3 is outside axis 1 of size 3',
    );
  });
});

describe('Python JSON', () => {
  it("writes floats as Python's repr", () => {
    const xs = [0.078427, 1e-5, 5e-5, 0.0001, 1, 0, 1.2345678901234568e17, 1e16, -0.000123, 0.5, 2.5e-7, 100];
    expect(xs.map((x) => pyFloat(x).text)).toEqual([
      '0.078427',
      '1e-05',
      '5e-05',
      '0.0001',
      '1.0',
      '0.0',
      '1.2345678901234568e+17',
      '1e+16',
      '-0.000123',
      '0.5',
      '2.5e-07',
      '100.0',
    ]);
  });

  it('keeps number texts, key order (integer-like keys too) and ensure_ascii escapes', () => {
    const text = '{"b": 6.0, "64": [1, 2.50], "a": {}, "s": "caf\\u00e9 \\"x\\"", "e": []}';
    expect(pyJsonText(parsePyJson(text, 't'))).toBe(
      '{\n "b": 6.0,\n "64": [\n  1,\n  2.50\n ],\n "a": {},\n "s": "caf\\u00e9 \\"x\\"",\n "e": []\n}\n',
    );
  });
});
