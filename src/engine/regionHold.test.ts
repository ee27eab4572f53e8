import { describe, expect, it } from 'vitest';
import { predictTokens, regionHoldMask } from './regionHold';

describe('region-hold', () => {
  const unknown = Uint8Array.from([1, 1, 0, 1]);
  const scores = Float32Array.from([0.005, 0.5, 0.0, 0.01]);
  it('holds unknown positions whose score is below λ (float32 compare)', () => {
    // 0.01 as float32 is 0.0099999998; a score of float32(0.01) is not below it
    expect(Array.from(regionHoldMask(unknown, scores, 0.01))).toEqual([1, 0, 0, 0]);
    expect(Array.from(regionHoldMask(unknown, scores, 0.6))).toEqual([1, 1, 0, 1]);
  });
  it('λ = 0 disables it', () => {
    expect(Array.from(regionHoldMask(unknown, scores, 0))).toEqual([0, 0, 0, 0]);
  });
  it('keeps known tokens, takes the reference token and its probability where held', () => {
    const p = predictTokens({
      tokens: Int32Array.from([9, 9, 5, 9]),
      unknown,
      drawnIds: Int32Array.from([1, 2, 3, 4]),
      drawnProbs: Float32Array.from([0.1, 0.2, 0.3, 0.4]),
      refTokens: Int32Array.from([11, 12, 13, 14]),
      refProbs: Float32Array.from([0.6, 0.7, 0.8, 0.9]),
      hold: Uint8Array.from([1, 0, 1, 0]),
    });
    expect(Array.from(p.tokens)).toEqual([11, 2, 5, 4]);
    expect(Array.from(p.probs)).toEqual(Array.from(Float32Array.from([0.6, 0.2, 0.3, 0.4])));
  });
});
