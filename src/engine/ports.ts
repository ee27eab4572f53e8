/**
 * The interfaces the engine needs from the outside world. `workers/` (onnxruntime-web) and
 * `cli/` (onnxruntime-node) implement GraphRunner; tokenizer adapters implement Tokenizer;
 * randomness comes in through Rng so that golden tests can replay the reference's draws.
 */
import type { AnyTensor } from './tensor';

/** The graphs of a model package (see docs/model-package.md). */
export type GraphName = 'text_clip' | 'text_llm' | 'vq_encode' | 'vq_decode' | 'transformer_step';

export type Feeds = Readonly<Record<string, AnyTensor>>;
export type Outputs = Readonly<Record<string, AnyTensor>>;

/** A loaded graph's input or output as the runtime reports it (dtype and shape when it can). */
export interface TensorSignature {
  readonly name: string;
  /** ONNX element type name: float32, float16, int32, int64, bool… */
  readonly dtype?: string;
  /** Sizes, or names for free dimensions. */
  readonly shape?: readonly (number | string)[];
}

export interface GraphSignature {
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
}

export interface GraphRunner {
  /**
   * Runs one graph. Implementations serialise runs (sessions must not run concurrently) and
   * reject with an AbortError when `signal` is aborted before the run starts.
   */
  run(graph: GraphName, feeds: Feeds, signal?: AbortSignal): Promise<Outputs>;
  /** Frees sessions and device memory. */
  release?(): Promise<void>;
  /** Frees one graph's session and its memory; its next run loads it again. */
  releaseGraph?(graph: GraphName): Promise<void>;
  /** The inputs and outputs of a graph's session (loading it when it is not loaded). */
  signature?(graph: GraphName): Promise<GraphSignature>;
}

export interface Encoding {
  /** Token ids, exactly `maxLength` long (padded and truncated as the Python tokenizer does). */
  readonly ids: Int32Array;
  /** 1 for real tokens, 0 for padding; same length as ids. */
  readonly attentionMask: Int32Array;
  /** True when the text did not fit and was cut. */
  readonly truncated: boolean;
}

export interface Tokenizer {
  encode(text: string, maxLength: number): Encoding;
  /** Token strings for ids (used for query-word positions). Optional. */
  tokens?(ids: ArrayLike<number>): string[];
}

/** Uniform draws for one sampling step, float32 in [0, 1). */
export interface StepUniforms {
  /** One per position, fed to transformer_step's `uniforms` (inverse-CDF draw). */
  readonly draw: Float32Array;
  /** One per position, turned into Gumbel noise for re-masking. */
  readonly gumbel: Float32Array;
}

export interface Rng {
  /** Uniforms for step `step` (0-based) over `n` positions. Same inputs → same arrays. */
  step(step: number, n: number): StepUniforms;
}
