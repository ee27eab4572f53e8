/**
 * EditMGT region-hold: at a step, every position that is unknown and whose attention score is
 * below λ takes the reference (source) token instead of the drawn one; its re-masking
 * confidence then uses the reference token's probability. λ = 0 disables it.
 *
 * Shapes: all arrays are [seq] = [h·w].
 */
import { f32 } from './float32';

/**
 * @param unknown [seq] 1 where the position was masked going into this step
 * @param scores [seq] smoothed attention on the token grid
 * @returns Uint8Array [seq], 1 = hold (use the reference token); all zeros when λ ≤ 0
 */
export function regionHoldMask(unknown: Uint8Array, scores: Float32Array, lambda: number): Uint8Array {
  if (unknown.length !== scores.length) throw new Error('regionHoldMask: length mismatch');
  const out = new Uint8Array(unknown.length);
  if (!(lambda > 0)) return out;
  // torch compares a float32 tensor with a Python float in float32
  const threshold = f32(lambda);
  for (let i = 0; i < out.length; i++) out[i] = unknown[i] && scores[i]! < threshold ? 1 : 0;
  return out;
}

export interface Prediction {
  /** [seq] token at every position after the draw */
  readonly tokens: Int32Array;
  /** [seq] probability of that token */
  readonly probs: Float32Array;
}

/**
 * The draw as the scheduler sees it: known positions keep their token, unknown ones take the
 * drawn token, held ones the reference token (with the reference token's probability).
 */
export function predictTokens(args: {
  readonly tokens: Int32Array;
  readonly unknown: Uint8Array;
  readonly drawnIds: Int32Array;
  readonly drawnProbs: Float32Array;
  readonly refTokens: Int32Array;
  readonly refProbs: Float32Array;
  readonly hold: Uint8Array;
}): Prediction {
  const { tokens, unknown, drawnIds, drawnProbs, refTokens, refProbs, hold } = args;
  const n = tokens.length;
  for (const [name, a] of Object.entries({ unknown, drawnIds, drawnProbs, refTokens, refProbs, hold })) {
    if (a.length !== n) throw new Error(`predictTokens: ${name} has ${a.length} values, expected ${n}`);
  }
  const out = new Int32Array(n);
  const probs = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (!unknown[i]) {
      out[i] = tokens[i]!;
      probs[i] = drawnProbs[i]!; // unused: known positions get float32 max confidence
    } else if (hold[i]) {
      out[i] = refTokens[i]!;
      probs[i] = refProbs[i]!;
    } else {
      out[i] = drawnIds[i]!;
      probs[i] = drawnProbs[i]!;
    }
  }
  return { tokens: out, probs };
}
