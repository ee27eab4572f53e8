/**
 * Engine time per step with the graphs taken out: the EditEngine runs against a runner that
 * answers every graph at once with fixed outputs of the right shapes, so each step interval is
 * pure engine work (attention consolidation and upsampling, region-hold, re-masking, the step
 * event and its palette preview). Measured at a model's real geometry, e.g. 1024 px (64×64
 * tokens, 32×32 attention), it is the engine's share of a step there, whatever the graph costs.
 */
import { EditEngine } from '../../src/engine/index';
import type { Feeds, GraphName, GraphRunner, ModelSpec, Outputs, Tokenizer } from '../../src/engine/index';
import { benchImage } from '../benchImage';
import { deltas, median, quantile } from '../report/stats';

export interface Geometry {
  resolution: number;
  tokenGrid: number;
  attentionGrid: number;
  codebookSize: number;
}

/** The released model at 1024 px. */
export const GEOMETRY_1024: Geometry = {
  resolution: 1024,
  tokenGrid: 64,
  attentionGrid: 32,
  codebookSize: 8192,
};

function specFor(g: Geometry): ModelSpec {
  const colors = new Uint8Array(g.codebookSize * 3);
  for (let i = 0; i < colors.length; i++) colors[i] = (i * 37) & 255;
  return {
    width: g.resolution,
    height: g.resolution,
    tokenGrid: { h: g.tokenGrid, w: g.tokenGrid },
    attentionGrid: { h: g.attentionGrid, w: g.attentionGrid },
    maskTokenId: g.codebookSize,
    codebookSize: g.codebookSize,
    clip: { maxLength: 77, dim: 8 },
    llm: { maxLength: 256, dim: 8 },
    negativePrompt: '',
    schedule: 'cosine',
    temperature: [2, 0],
    aestheticScore: 6,
    codebookColors: colors,
  };
}

/** Deterministic pseudo-random values in [0, 1). */
function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32;
  }
  return a;
}

/** Answers each graph with precomputed outputs (the engine never mutates graph outputs). */
class InstantRunner implements GraphRunner {
  private readonly outputs: Record<GraphName, Outputs>;

  constructor(spec: ModelSpec) {
    const seq = spec.tokenGrid.h * spec.tokenGrid.w;
    const ids = Int32Array.from(fill(seq, 1), (u) => Math.floor(u * spec.codebookSize));
    this.outputs = {
      text_clip: { text_embeds: { type: 'float32', data: fill(spec.clip.dim, 2), dims: [1, spec.clip.dim] } },
      text_llm: {
        hidden_states: {
          type: 'float32',
          data: fill(spec.llm.maxLength * spec.llm.dim, 3),
          dims: [1, spec.llm.maxLength, spec.llm.dim],
        },
      },
      vq_encode: { ids: { type: 'int32', data: ids, dims: [1, spec.tokenGrid.h, spec.tokenGrid.w] } },
      vq_decode: {
        pixels: {
          type: 'float32',
          data: fill(3 * spec.width * spec.height, 4),
          dims: [1, 3, spec.height, spec.width],
        },
      },
      transformer_step: {
        drawn_ids: {
          type: 'int32',
          data: Int32Array.from(fill(seq, 5), (u) => Math.floor(u * spec.codebookSize)),
          dims: [1, seq],
        },
        drawn_probs: { type: 'float32', data: fill(seq, 6), dims: [1, seq] },
        ref_probs: { type: 'float32', data: fill(seq, 7), dims: [1, seq] },
        attention: {
          type: 'float32',
          data: fill(spec.attentionGrid.h * spec.attentionGrid.w, 8),
          dims: [1, spec.attentionGrid.h * spec.attentionGrid.w],
        },
      },
    };
  }

  run(graph: GraphName, _feeds: Feeds): Promise<Outputs> {
    return Promise.resolve(this.outputs[graph]);
  }
}

const tokenizer: Tokenizer = {
  encode: (text, maxLength) => {
    const ids = new Int32Array(maxLength);
    for (let i = 0; i < Math.min(text.length, maxLength); i++) ids[i] = text.charCodeAt(i);
    return {
      ids,
      attentionMask: Int32Array.from(ids, (v) => (v ? 1 : 0)),
      truncated: text.length > maxLength,
    };
  },
};

export interface EngineStepCost {
  geometry: Geometry;
  steps: number;
  /** Median and p90 of the engine's own time per step (ms), graphs answering instantly. */
  engine_ms_per_step: number;
  engine_ms_per_step_p90: number;
}

/** Engine ms per step at a geometry, region-hold on (its most expensive setting). */
export async function engineStepCost(g: Geometry = GEOMETRY_1024, steps = 16): Promise<EngineStepCost> {
  const spec = specFor(g);
  const engine = new EditEngine({
    runner: new InstantRunner(spec),
    tokenizers: { clip: tokenizer, llm: tokenizer },
    spec,
    now: () => performance.now(),
  });
  const image = benchImage(g.resolution);
  await engine.edit({ image, prompt: 'warm up', steps: 4, seed: 2, hold: 0.5 }); // JIT warm-up
  const at: number[] = [];
  await engine.edit(
    { image, prompt: 'make the red disc blue', steps, seed: 1, hold: 0.5 },
    { onStep: () => at.push(performance.now()) },
  );
  const per = deltas(at);
  return { geometry: g, steps, engine_ms_per_step: median(per), engine_ms_per_step_p90: quantile(per, 0.9) };
}
