/**
 * Text conditioning: tokenize and run text_clip + text_llm once per distinct prompt, cached
 * (the instruction and the negative prompt are both reused across edits).
 */
import { normalizeClipText } from './clipText';
import type { Encoding, GraphRunner, Tokenizer } from './ports';
import type { ModelSpec } from './modelSpec';
import { expectDims, expectType, makeTensor } from './tensor';

export interface TextEncoding {
  /** [D_clip] pooled CLIP embedding */
  readonly pooled: Float32Array;
  /** [L_llm·D_llm] second-to-last LLM hidden states */
  readonly states: Float32Array;
  /** [L_llm] LLM token ids (for query-word positions) */
  readonly llmIds: Int32Array;
  readonly truncated: boolean;
}

export interface TextTokenizers {
  readonly clip: Tokenizer;
  readonly llm: Tokenizer;
}

/** How the LLM sees padding. 'ones' = the reference (it calls Gemma without an attention mask). */
export type LlmMaskMode = 'ones' | 'tokenizer';

function toInt64(ids: Int32Array): BigInt64Array {
  const out = new BigInt64Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = BigInt(ids[i]!);
  return out;
}

/**
 * CLIP ids as the reference's slow CLIP tokenizer gives them: its ftfy text normalisation, then
 * the package's tokenizer.json (which only does NFC, whitespace and lower case itself).
 */
export function clipTokens(tokenizer: Tokenizer, prompt: string, maxLength: number): Encoding {
  return tokenizer.encode(normalizeClipText(prompt), maxLength);
}

export class TextEncoderCache {
  private readonly cache = new Map<string, TextEncoding>();

  constructor(
    private readonly runner: GraphRunner,
    private readonly tokenizers: TextTokenizers,
    private readonly spec: ModelSpec,
    private readonly llmMask: LlmMaskMode = 'ones',
    private readonly capacity = 8,
  ) {}

  /** Whether `prompt`'s encoding is cached (encoding it runs no graph). */
  has(prompt: string): boolean {
    return this.cache.has(prompt);
  }

  /** Encodes one prompt (cached, least-recently-used eviction). */
  async encode(prompt: string, signal?: AbortSignal): Promise<TextEncoding> {
    const hit = this.cache.get(prompt);
    if (hit) {
      this.cache.delete(prompt);
      this.cache.set(prompt, hit);
      return hit;
    }
    const { clip, llm } = this.spec;
    const clipEnc = clipTokens(this.tokenizers.clip, prompt, clip.maxLength);
    const llmEnc = this.tokenizers.llm.encode(prompt, llm.maxLength);
    const clipOut = await this.runner.run(
      'text_clip',
      { input_ids: makeTensor('int64', toInt64(clipEnc.ids), [1, clip.maxLength]) },
      signal,
    );
    const pooled = expectType(clipOut['text_embeds'], 'float32', 'text_clip.text_embeds');
    expectDims(pooled, [1, clip.dim], 'text_clip.text_embeds');
    const mask = this.llmMask === 'ones' ? new Int32Array(llm.maxLength).fill(1) : llmEnc.attentionMask;
    const llmOut = await this.runner.run(
      'text_llm',
      {
        input_ids: makeTensor('int64', toInt64(llmEnc.ids), [1, llm.maxLength]),
        attention_mask: makeTensor('int64', toInt64(mask), [1, llm.maxLength]),
      },
      signal,
    );
    const states = expectType(llmOut['hidden_states'], 'float32', 'text_llm.hidden_states');
    expectDims(states, [1, llm.maxLength, llm.dim], 'text_llm.hidden_states');
    const enc: TextEncoding = {
      pooled: pooled.data,
      states: states.data,
      llmIds: llmEnc.ids,
      truncated: clipEnc.truncated || llmEnc.truncated,
    };
    this.cache.set(prompt, enc);
    while (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value as string);
    return enc;
  }

  get size(): number {
    return this.cache.size;
  }

  clear(): void {
    this.cache.clear();
  }
}
