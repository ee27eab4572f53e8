import { describe, expect, it } from 'vitest';
import { FLOAT32_MAX } from './float32';
import {
  confidence,
  gumbelFromUniforms,
  maskLength,
  maskRatio,
  remaskSelection,
  schedulerStep,
  temperatureSchedule,
  unknownMap,
} from './scheduler';

describe('mask schedule', () => {
  it('cosine ratio falls from ~1 to 0; linear is 1 − (i+1)/N', () => {
    expect(maskRatio('cosine', 0, 1000)).toBeGreaterThan(0.99);
    expect(maskRatio('cosine', 9, 10)).toBeLessThan(1e-6);
    expect(maskRatio('linear', 3, 8)).toBe(0.5);
    expect(maskRatio('linear', 3, 8, 0.5)).toBe(0.25);
  });
  it('clamps the mask length to [1, unknown − 1]', () => {
    // floor(4096·cos(π/4)) = 2896 would exceed the unknown count
    expect(maskLength('cosine', 1, 4, 4096, 100)).toBe(99);
    expect(maskLength('cosine', 1, 4, 4096, 5000)).toBe(2896);
    // last-but-one step of many: floor gives 0 → at least one
    expect(maskLength('cosine', 998, 1000, 64, 64)).toBe(1);
    // nothing unknown: min gives −1, max gives 1 (the reference's order of clamps)
    expect(maskLength('cosine', 0, 4, 64, 0)).toBe(1);
  });
  it('rejects an unknown schedule', () => {
    expect(() => maskRatio('square' as never, 0, 4)).toThrow(/unknown masking schedule/);
  });
});

describe('temperature schedule', () => {
  it('runs from 2 to 0 in N steps', () => {
    const t = temperatureSchedule(5);
    expect(Array.from(t)).toEqual([2, 1.5, 1, 0.5, 0]);
    expect(Array.from(temperatureSchedule(1))).toEqual([2]);
    expect(() => temperatureSchedule(0)).toThrow();
  });
});

describe('Gumbel confidence', () => {
  it('gumbel(u) = −log(−log u) with both clamps', () => {
    const g = gumbelFromUniforms(Float32Array.from([Math.exp(-1), 0, 0.5]));
    expect(g[0]).toBeCloseTo(0, 6);
    // u = 0 → −log(1e−20) ≈ 46.05 → −log(46.05) ≈ −3.83: finite
    expect(g[1]).toBeCloseTo(-Math.log(-Math.log(1e-20)), 4);
    expect(g[2]).toBeCloseTo(-Math.log(Math.log(2)), 6);
  });
  it('known positions get log(float32 max) + τ·g, unknown log(p) + τ·g', () => {
    const c = confidence(
      Float32Array.from([0.5, 0.5, 0]),
      Uint8Array.from([1, 0, 1]),
      2,
      Float32Array.from([1, 1, 0]),
    );
    expect(c[0]).toBeCloseTo(Math.log(0.5) + 2, 6);
    expect(c[1]).toBeCloseTo(Math.log(FLOAT32_MAX) + 2, 4);
    expect(c[2]).toBeCloseTo(Math.log(1e-20), 4); // p clamped to 1e−20
  });
  it('re-masks strictly below the maskLen-th smallest value (ties re-mask fewer)', () => {
    const conf = Float32Array.from([3, 1, 2, 0, 5]);
    expect(Array.from(remaskSelection(conf, 2))).toEqual([0, 0, 0, 1, 0].map((v, i) => (i === 1 ? 1 : v)));
    const ties = Float32Array.from([1, 1, 1, 1]);
    expect(Array.from(remaskSelection(ties, 2))).toEqual([0, 0, 0, 0]);
  });
});

describe('schedulerStep', () => {
  const mask = 99;
  const tokens = Int32Array.from([mask, mask, mask, mask, 7, mask]);
  const predicted = Int32Array.from([1, 2, 3, 4, 7, 5]);
  const probs = Float32Array.from([0.9, 0.1, 0.5, 0.3, 0.01, 0.8]);
  const base = {
    tokens,
    predicted,
    predictedProbs: probs,
    gumbelUniforms: new Float32Array(6).fill(Math.exp(-1)), // gumbel = 0
    steps: 4,
    schedule: 'linear' as const,
    temperature: 1,
    startingMaskRatio: 1,
    maskTokenId: mask,
  };
  it('re-masks the lowest-probability unknown positions, never a known one', () => {
    // linear, step 1 of 4: floor(6·0.5) = 3, unknown 5 → 3 lowest: p 0.1, 0.3, 0.5
    const out = schedulerStep({ ...base, step: 1 });
    expect(out.maskLength).toBe(3);
    expect(Array.from(out.tokens)).toEqual([1, mask, mask, mask, 7, 5]);
    expect(Array.from(out.remasked)).toEqual([0, 1, 1, 1, 0, 0]);
  });
  it('returns the predicted tokens unchanged on the last step', () => {
    const out = schedulerStep({ ...base, step: 3 });
    expect(Array.from(out.tokens)).toEqual(Array.from(predicted));
    expect(out.remasked.every((v) => v === 0)).toBe(true);
  });
  it('does not mutate its inputs', () => {
    const before = [Array.from(tokens), Array.from(predicted), Array.from(probs)];
    schedulerStep({ ...base, step: 0 });
    expect([Array.from(tokens), Array.from(predicted), Array.from(probs)]).toEqual(before);
  });
  it('unknownMap marks mask ids', () => {
    expect(Array.from(unknownMap(tokens, mask))).toEqual([1, 1, 1, 1, 0, 1]);
  });
});
