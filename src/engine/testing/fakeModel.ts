/**
 * A deterministic stand-in for a model package (no onnxruntime): graphs with the contract's
 * names, dtypes and shapes, cheap arithmetic inside. For engine tests only.
 */
import type { ModelSpec } from '../modelSpec';
import type { Encoding, Feeds, GraphName, GraphRunner, Outputs, Tokenizer } from '../ports';
import type { AnyTensor, Tensor } from '../tensor';
import { makeTensor } from '../tensor';

export const FAKE_SPEC: ModelSpec = {
  width: 16,
  height: 16,
  tokenGrid: { h: 4, w: 4 },
  attentionGrid: { h: 2, w: 2 },
  maskTokenId: 15,
  codebookSize: 8,
  clip: { maxLength: 6, dim: 3 },
  llm: { maxLength: 8, dim: 2 },
  negativePrompt: 'bad',
  schedule: 'cosine',
  temperature: [2, 0],
  aestheticScore: 6,
  codebookColors: Uint8Array.from({ length: 24 }, (_, i) => (i * 37) % 256),
};

/** Words → ids by character codes; bos = 1, pad = 0. */
export const fakeTokenizer: Tokenizer = {
  encode(text: string, maxLength: number): Encoding {
    const content = text
      .split(/\s+/)
      .filter(Boolean)
      .map((wd) => 2 + ([...wd].reduce((a, c) => a + c.charCodeAt(0), 0) % 50));
    const ids = [1, ...content];
    const truncated = ids.length > maxLength;
    const out = new Int32Array(maxLength);
    const mask = new Int32Array(maxLength);
    ids.slice(0, maxLength).forEach((id, i) => {
      out[i] = id;
      mask[i] = 1;
    });
    return { ids: out, attentionMask: mask, truncated };
  },
};

export class FakeRunner implements GraphRunner {
  readonly calls: GraphName[] = [];
  /** called before each transformer_step run; lets tests abort mid-edit */
  beforeStep?: (n: number) => void;
  private steps = 0;

  async run(graph: GraphName, feeds: Feeds, signal?: AbortSignal): Promise<Outputs> {
    signal?.throwIfAborted();
    this.calls.push(graph);
    const s = FAKE_SPEC;
    const seq = s.tokenGrid.h * s.tokenGrid.w;
    switch (graph) {
      case 'text_clip': {
        const ids = feeds['input_ids'] as Tensor<'int64'>;
        const v = Number(ids.data.reduce((a, b) => a + b, 0n));
        return { text_embeds: makeTensor('float32', Float32Array.of(v, v / 2, 1), [1, s.clip.dim]) };
      }
      case 'text_llm':
        return {
          hidden_states: makeTensor('float32', new Float32Array(s.llm.maxLength * s.llm.dim).fill(0.5), [
            1,
            s.llm.maxLength,
            s.llm.dim,
          ]),
        };
      case 'vq_encode': {
        const px = feeds['pixels'] as Tensor<'float32'>;
        const ids = new Int32Array(seq);
        // token = quantised red of the cell's first pixel
        for (let i = 0; i < seq; i++) {
          const y = Math.floor(i / s.tokenGrid.w) * 4;
          const x = (i % s.tokenGrid.w) * 4;
          ids[i] = Math.min(s.codebookSize - 1, Math.floor(px.data[y * s.width + x]! * s.codebookSize));
        }
        return { ids: makeTensor('int32', ids, [1, s.tokenGrid.h, s.tokenGrid.w]) };
      }
      case 'vq_decode': {
        const ids = feeds['ids'] as Tensor<'int32'>;
        const px = new Float32Array(3 * s.width * s.height);
        for (let y = 0; y < s.height; y++) {
          for (let x = 0; x < s.width; x++) {
            const t = ids.data[Math.floor(y / 4) * s.tokenGrid.w + Math.floor(x / 4)]!;
            for (let c = 0; c < 3; c++)
              px[c * s.width * s.height + y * s.width + x] = (t + 0.5) / s.codebookSize;
          }
        }
        return { pixels: makeTensor('float32', px, [1, 3, s.height, s.width]) };
      }
      case 'transformer_step': {
        this.beforeStep?.(this.steps++);
        const u = feeds['uniforms'] as Tensor<'float32'>;
        const ref = feeds['ref_tokens'] as Tensor<'int32'>;
        const g = (feeds['guidance_scale'] as Tensor<'float32'>).data[0]!;
        const drawn = new Int32Array(seq);
        const probs = new Float32Array(seq);
        const refProbs = new Float32Array(seq);
        for (let i = 0; i < seq; i++) {
          drawn[i] = Math.min(s.codebookSize - 1, Math.floor(u.data[i]! * s.codebookSize));
          probs[i] = Math.fround(0.05 + 0.9 * ((u.data[i]! * 7 + g) % 1));
          refProbs[i] = Math.fround(0.5 + ref.data[i]! / 100);
        }
        const attention = Float32Array.of(0.1, 0.2, 0.3, 0.9);
        const out: Record<string, AnyTensor> = {
          drawn_ids: makeTensor('int32', drawn, [1, seq]),
          drawn_probs: makeTensor('float32', probs, [1, seq]),
          ref_probs: makeTensor('float32', refProbs, [1, seq]),
          attention: makeTensor('float32', attention, [1, 4]),
        };
        return out;
      }
    }
  }
}
