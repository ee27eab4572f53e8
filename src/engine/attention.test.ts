import { describe, expect, it } from 'vitest';
import {
  gaussianKernel1d,
  percentile,
  processAttention,
  reflectIndex,
  rescaleScores,
  smoothScoresAdaptive,
  upsampleBicubic,
  cubicWeights,
} from './attention';

describe('attention kernels (analytic cases)', () => {
  it('reflect borders are half-sample symmetric, also past twice the length', () => {
    expect([-3, -2, -1, 0, 1, 2, 3, 4, 5].map((i) => reflectIndex(i, 3))).toEqual([
      2, 1, 0, 0, 1, 2, 2, 1, 0,
    ]);
    expect(reflectIndex(-7, 3)).toBe(reflectIndex(-1, 3));
    expect(reflectIndex(5, 1)).toBe(0);
  });
  it('scipy kernel: radius int(4σ+0.5) = 6 for σ = 1.5, sums to 1', () => {
    const k = gaussianKernel1d(1.5);
    expect(k.length).toBe(13);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(k[6]! / k[7]!).toBeCloseTo(Math.exp(0.5 / 2.25), 12);
  });
  it('rescale maps to [0, 1] with the +1e−8 and is all zeros for a constant map', () => {
    const r = rescaleScores(Float32Array.from([2, 4, 6]));
    expect(r[0]).toBe(0);
    expect(r[1]).toBeCloseTo(0.5, 6);
    expect(r[2]).toBe(1); // 4 + 1e−8 rounds to 4 in float32
    // the +1e−8 matters for tiny ranges: (1e−8 − 0) / (1e−8 + 1e−8) = 0.5
    expect(rescaleScores(Float32Array.from([0, 1e-8]))[1]).toBeCloseTo(0.5, 6);
    expect(Array.from(rescaleScores(new Float32Array(4).fill(3)))).toEqual([0, 0, 0, 0]);
  });
  it('numpy percentile (linear) of 0..10 at 90 is 9; of [1,2] at 90 is 1.9', () => {
    expect(percentile(Float32Array.from([10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 90)).toBe(9);
    expect(percentile(Float32Array.from([1, 2]), 90)).toBeCloseTo(1.9, 6);
  });
  it('smoothing keeps a constant map and keeps the original min/max', () => {
    expect(Array.from(smoothScoresAdaptive(new Float32Array(16).fill(0.25), 4, 4))).toEqual(
      new Array(16).fill(0.25),
    );
    const spike = new Float32Array(25);
    spike[12] = 1;
    const s = smoothScoresAdaptive(spike, 5, 5);
    expect(Math.max(...s)).toBeCloseTo(1, 6);
    expect(Math.min(...s)).toBeCloseTo(0, 6);
    expect(s[11]).toBeGreaterThan(0); // blurred into the neighbours
  });
  it('cubic weights (A = −0.75) sum to 1 and match the closed form at t = 0.25', () => {
    const w = cubicWeights(0.25);
    expect(w).toEqual([-0.10546875, 0.87890625, 0.26171875, -0.03515625]);
    expect(w.reduce((a, b) => a + b)).toBe(1);
  });
  it('bicubic 2× upsample reproduces constants and is symmetric', () => {
    expect(Array.from(upsampleBicubic(new Float32Array(9).fill(0.5), 3, 3, 6, 6))).toEqual(
      new Array(36).fill(0.5),
    );
    const x = Float32Array.from([0, 1, 1, 0]);
    const up = upsampleBicubic(x, 1, 4, 1, 8);
    for (let i = 0; i < 4; i++) expect(up[i]).toBeCloseTo(up[7 - i]!, 6);
  });
  it('processAttention upsamples only when the grids differ', () => {
    const raw = Float32Array.from({ length: 16 }, (_, i) => (i * 7) % 5);
    const same = processAttention(raw, 4, 4, 4, 4);
    expect(same.tokens).toBe(same.grid);
    expect(processAttention(raw, 4, 4, 8, 8).tokens.length).toBe(64);
  });
});
