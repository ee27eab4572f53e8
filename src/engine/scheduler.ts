/**
 * Mask schedule, temperature schedule and Gumbel re-masking of the EditMGT sampler, with the
 * reference scheduler's exact rules (float32 arithmetic, mask-length clamps, strict cut-off).
 * Pure functions: inputs are never mutated, new arrays are returned.
 *
 * Shapes: every per-position array is [seq] = [h·w] for one image (batch 1).
 */
import { EPS_1E20, f32, FLOAT32_MAX, fmaF32, logF32, PI_F32 } from './float32';

export type MaskSchedule = 'cosine' | 'linear';

/**
 * Temperatures τ_i for i = 0..steps−1, linearly spaced from `start` to `end` in float32 the
 * way torch.linspace does on CPU (first half counts up from start, second half down from end,
 * each a fused multiply-add): bit-identical to torch 2.x for the step counts we checked.
 * @returns Float32Array [steps]
 */
export function temperatureSchedule(steps: number, start = 2, end = 0): Float32Array {
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`steps must be a positive integer, got ${steps}`);
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const delta = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? fmaF32(delta, i, s) : fmaF32(-delta, steps - i - 1, e);
  }
  return out;
}

/**
 * Fraction of positions that stay masked after step `step` (0-based) of `steps`:
 * cos((i+1)/N·π/2) or 1 − (i+1)/N, times `startingMaskRatio`; float32 as in the reference.
 */
export function maskRatio(
  schedule: MaskSchedule,
  step: number,
  steps: number,
  startingMaskRatio = 1,
): number {
  const ratio = f32((step + 1) / steps);
  let r: number;
  if (schedule === 'cosine') r = f32(Math.cos(f32(ratio * PI_F32) / 2));
  else if (schedule === 'linear') r = f32(1 - ratio);
  else throw new Error(`unknown masking schedule ${String(schedule)}`);
  return f32(f32(startingMaskRatio) * r);
}

/**
 * Number of positions to re-mask after step `step`: floor(seq·ratio), at most unknown − 1,
 * at least 1 (the reference's clamps, in that order).
 */
export function maskLength(
  schedule: MaskSchedule,
  step: number,
  steps: number,
  seqLen: number,
  unknownCount: number,
  startingMaskRatio = 1,
): number {
  const len = Math.floor(f32(seqLen * maskRatio(schedule, step, steps, startingMaskRatio)));
  return Math.max(1, Math.min(unknownCount - 1, len));
}

/** starting_mask_ratio for inpainting: masked cells / all cells, float32 as torch computes it. */
export function startingMaskRatio(maskedCount: number, total: number): number {
  return f32(maskedCount / total);
}

/** Gumbel noise from uniforms: −log(max(−log(max(u, 1e−20)), 1e−20)), float32. @returns [n] */
export function gumbelFromUniforms(u: Float32Array): Float32Array {
  const out = new Float32Array(u.length);
  for (let i = 0; i < u.length; i++) {
    const inner = f32(-logF32(Math.max(u[i]!, EPS_1E20)));
    out[i] = -logF32(Math.max(inner, EPS_1E20));
  }
  return out;
}

/**
 * Re-masking confidence: log(max(p, 1e−20)) + τ·gumbel, where known positions use
 * p = float32 max (the reference's "never re-mask" value). float32.
 * @param probs [seq] probability of the token each position holds after the draw
 * @param unknown [seq] 1 where the position was masked before this step
 * @returns Float32Array [seq]
 */
export function confidence(
  probs: Float32Array,
  unknown: Uint8Array,
  temperature: number,
  gumbel: Float32Array,
): Float32Array {
  const n = probs.length;
  if (unknown.length !== n || gumbel.length !== n) throw new Error('confidence: length mismatch');
  const tau = f32(temperature);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const p = unknown[i] ? probs[i]! : FLOAT32_MAX;
    out[i] = f32(logF32(Math.max(p, EPS_1E20)) + f32(tau * gumbel[i]!));
  }
  return out;
}

/**
 * Positions to re-mask: confidence strictly below the `maskLen`-th smallest confidence.
 * @returns Uint8Array [seq], 1 = re-mask
 */
export function remaskSelection(conf: Float32Array, maskLen: number): Uint8Array {
  const sorted = Float32Array.from(conf).sort();
  const cut = sorted[Math.min(maskLen, sorted.length - 1)]!;
  const out = new Uint8Array(conf.length);
  for (let i = 0; i < conf.length; i++) out[i] = conf[i]! < cut ? 1 : 0;
  return out;
}

export interface SchedulerStepInput {
  /** [seq] tokens going into this step, maskTokenId where unknown */
  readonly tokens: Int32Array;
  /** [seq] tokens after the draw, known positions kept and region-hold applied */
  readonly predicted: Int32Array;
  /** [seq] probability of `predicted[i]` under this step's distribution */
  readonly predictedProbs: Float32Array;
  /** [seq] Gumbel uniforms for this step */
  readonly gumbelUniforms: Float32Array;
  readonly step: number;
  readonly steps: number;
  readonly schedule: MaskSchedule;
  readonly temperature: number;
  readonly startingMaskRatio: number;
  readonly maskTokenId: number;
}

export interface SchedulerStepOutput {
  /** [seq] tokens for the next step (the result on the last step) */
  readonly tokens: Int32Array;
  /** [seq] 1 where this step re-masked a drawn token */
  readonly remasked: Uint8Array;
  readonly maskLength: number;
}

/** One scheduler step after the draw: on the last step the predicted tokens are the result. */
export function schedulerStep(input: SchedulerStepInput): SchedulerStepOutput {
  const { tokens, predicted, maskTokenId } = input;
  const n = tokens.length;
  if (input.step === input.steps - 1) {
    return { tokens: Int32Array.from(predicted), remasked: new Uint8Array(n), maskLength: 0 };
  }
  const unknown = unknownMap(tokens, maskTokenId);
  let unknownCount = 0;
  for (let i = 0; i < n; i++) unknownCount += unknown[i]!;
  const len = maskLength(input.schedule, input.step, input.steps, n, unknownCount, input.startingMaskRatio);
  const conf = confidence(
    input.predictedProbs,
    unknown,
    input.temperature,
    gumbelFromUniforms(input.gumbelUniforms),
  );
  const remasked = remaskSelection(conf, len);
  const next = Int32Array.from(predicted);
  for (let i = 0; i < n; i++) if (remasked[i]) next[i] = maskTokenId;
  return { tokens: next, remasked, maskLength: len };
}

/** @returns Uint8Array [seq], 1 where tokens[i] == maskTokenId */
export function unknownMap(tokens: Int32Array, maskTokenId: number): Uint8Array {
  const out = new Uint8Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) out[i] = tokens[i] === maskTokenId ? 1 : 0;
  return out;
}
