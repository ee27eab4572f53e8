/**
 * Deterministic transformer_step inputs built from the manifest's shapes (all cells masked,
 * random reference ids and text states: the cost of a real first step). Runs in node and in the
 * page alike, so both runtimes get the same feeds without shipping megabytes between them.
 */
import type { Manifest } from '../../src/engine/index';

export interface StepFeed {
  type: 'float32' | 'int32';
  dims: number[];
  data: Float32Array | Int32Array;
}

/** Values in [0, 1) from a small LCG (plausible inputs, not quality). */
export function uniforms(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}

export function stepFeeds(m: Manifest): Record<string, StepFeed> {
  const feeds: Record<string, StepFeed> = {};
  const fixed: Record<string, number[]> = {
    micro_conds: [...m.config.micro_conds],
    timestep: [35],
    guidance_scale: [6],
    ref_bias: [Math.log(1.1)],
  };
  for (const io of m.graphs.transformer_step.inputs) {
    const dims = io.shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    if (io.dtype === 'int32') {
      const data = new Int32Array(n);
      if (io.name === 'tokens') data.fill(m.config.mask_token_id);
      else uniforms(n, 7).forEach((u, i) => (data[i] = Math.floor(u * m.config.codebook_size)));
      feeds[io.name] = { type: 'int32', data, dims };
      continue;
    }
    const data = fixed[io.name]
      ? Float32Array.from(fixed[io.name]!)
      : io.name === 'text_weights'
        ? new Float32Array(n).fill(1)
        : io.name === 'uniforms'
          ? uniforms(n, 3)
          : uniforms(n, 5).map((u) => (u - 0.5) * 2);
    feeds[io.name] = { type: 'float32', data, dims };
  }
  return feeds;
}
