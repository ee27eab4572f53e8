/**
 * Kernels against values computed by scipy / numpy / torch / Pillow on the same inputs
 * (fixture: __fixtures__/kernels.json, made by __fixtures__/make_kernel_fixtures.py).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gaussianFilter2d, rescaleScores, smoothScoresAdaptive, upsampleBicubic } from './attention';
import { resizePilBilinear } from './resample';
import { maskLength, startingMaskRatio, temperatureSchedule } from './scheduler';

interface Fixture {
  smoothing: Record<string, { seed: number; rescaled: number[]; gauss: number[]; smoothed: number[] }>;
  bicubic: Record<string, { seed: number; output: number[] }>;
  linspace_2_0: Record<string, number[]>;
  mask_len_cosine: Record<string, number[]>;
  pil_bilinear: { seed: number; width: number; height: number; out: Record<string, number[]> };
}
const fx = JSON.parse(
  readFileSync(new URL('./__fixtures__/kernels.json', import.meta.url), 'utf8'),
) as Fixture;

/** The fixture generator's LCG, as float32. */
function lcg(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = BigInt(seed);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245n + 12345n) % 2147483648n;
    out[i] = Number(s) / 2147483648;
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('attention post-processing matches the reference libraries', () => {
  for (const [key, c] of Object.entries(fx.smoothing)) {
    const [rows, cols] = key.split('x').map(Number) as [number, number];
    it(`rescale + adaptive smoothing ${key} are bit-identical to torch + scipy`, () => {
      const f = Math.fround;
      const x = lcg(rows * cols, c.seed).map((v) => f(f(f(v * v) * 3) + 0.25)); // numpy float32: x*x*3+0.25
      const res = rescaleScores(x);
      expect(Array.from(res)).toEqual(c.rescaled);
      expect(Array.from(gaussianFilter2d(res, rows, cols, 1.5))).toEqual(c.gauss);
      expect(Array.from(smoothScoresAdaptive(res, rows, cols))).toEqual(c.smoothed);
    });
  }
  for (const [key, c] of Object.entries(fx.bicubic)) {
    it(`bicubic ${key} is within 1e-6 of F.interpolate`, () => {
      const [a, b] = key.split('->') as [string, string];
      const [ih, iw] = a.split('x').map(Number) as [number, number];
      const [oh, ow] = b.split('x').map(Number) as [number, number];
      expect(maxAbsDiff(upsampleBicubic(lcg(ih * iw, c.seed), ih, iw, oh, ow), c.output)).toBeLessThan(1e-6);
    });
  }
});

describe('scheduler arithmetic matches torch float32', () => {
  it('temperature schedule equals torch.linspace(2, 0, N) bit for bit', () => {
    for (const [n, v] of Object.entries(fx.linspace_2_0))
      expect(Array.from(temperatureSchedule(Number(n)))).toEqual(v);
  });
  it('cosine mask lengths equal the reference floor(seq·cos(...)·ratio)', () => {
    for (const [key, vals] of Object.entries(fx.mask_len_cosine)) {
      const [n, seq, r] = key.split('|') as [string, string, string];
      const ratio = r === '1' ? 1 : startingMaskRatio(37, 256);
      const mine = vals.map((_, i) =>
        maskLength('cosine', i, Number(n), Number(seq), Number.MAX_SAFE_INTEGER, ratio),
      );
      expect(mine).toEqual(vals.map((v) => Math.max(1, v)));
    }
  });
});

describe('Pillow bilinear resize', () => {
  const { width, height, seed, out } = fx.pil_bilinear;
  const rgb = lcg(width * height * 3, seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let ch = 0; ch < 3; ch++) data[i * 4 + ch] = Math.trunc(Math.fround(rgb[i * 3 + ch]! * 255));
    data[i * 4 + 3] = 255;
  }
  for (const [key, expected] of Object.entries(out)) {
    it(`${width}x${height} → ${key} is byte-identical to PIL`, () => {
      const [w, h] = key.split('x').map(Number) as [number, number];
      const img = resizePilBilinear({ width, height, data }, w, h);
      const mine: number[] = [];
      for (let i = 0; i < w * h; i++) mine.push(img.data[i * 4]!, img.data[i * 4 + 1]!, img.data[i * 4 + 2]!);
      expect(mine).toEqual(expected);
    });
  }
});
