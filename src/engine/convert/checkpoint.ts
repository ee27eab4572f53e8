/**
 * An EditMGT checkpoint in hub layout, opened for reading: subfolders `tokenizer`,
 * `text_encoder` (CLIP), `llm_encoder` (Gemma, with its tokenizer), `vqvae`, `editmgt` (or
 * `transformer`) and `scheduler`. Configs are parsed, each model's weights are opened by their
 * headers (weights.ts), the tokenizers are read in either layout (tokenizerFolder.ts). No tensor
 * is read here; callers read them one at a time, or by rows.
 */
import { CheckpointError, readJsonObject } from './byteSource';
import type { CheckpointSource } from './byteSource';
import { readTokenizerFolder } from './tokenizerFolder';
import type { TokenizerFolder } from './tokenizerFolder';
import { openWeights } from './weights';
import type { CheckpointWeights, OpenWeightsOptions } from './weights';

export const TRANSFORMER_SUBFOLDERS = ['editmgt', 'transformer'] as const;
export const NEEDED_SUBFOLDERS = ['tokenizer', 'text_encoder', 'llm_encoder', 'vqvae', 'scheduler'] as const;

/** Gemma's embedding table, which its output projection shares when the embeddings are tied. */
export const LLM_EMBEDDING = 'model.embed_tokens.weight';
export const LLM_HEAD = 'lm_head.weight';

/**
 * The LLM's weights under the names transformers' causal-LM module uses:
 * - a checkpoint saved from the bare model (no tensor starts with `model.`) gets the prefix;
 * - with tied embeddings (config.json's `tie_word_embeddings` true or absent, as Gemma's default)
 *   `lm_head.weight` is the embedding table, whether or not the file holds a copy: transformers
 *   ties the two after loading, so the table is what the model computes with.
 */
export function llmWeightNames(
  weights: CheckpointWeights,
  config: Record<string, unknown>,
): CheckpointWeights {
  const prefixed = weights.names().some((n) => n.startsWith('model.'));
  let named = prefixed ? weights : weights.withNames(new Map(), (n) => `model.${n}`);
  if (config['tie_word_embeddings'] !== false && named.has(LLM_EMBEDDING))
    named = named.withNames(new Map([[LLM_HEAD, LLM_EMBEDDING]]));
  return named;
}

export interface Checkpoint {
  readonly source: CheckpointSource;
  /** `editmgt` or `transformer` */
  readonly transformerSubfolder: string;
  readonly configs: {
    readonly clip: Record<string, unknown>;
    readonly llm: Record<string, unknown>;
    readonly vq: Record<string, unknown>;
    readonly transformer: Record<string, unknown>;
    readonly scheduler: Record<string, unknown>;
  };
  readonly weights: {
    readonly clip: CheckpointWeights;
    readonly llm: CheckpointWeights;
    readonly vq: CheckpointWeights;
    readonly transformer: CheckpointWeights;
  };
  readonly tokenizers: { readonly clip: TokenizerFolder; readonly llm: TokenizerFolder };
}

/** Opens a checkpoint: every subfolder present, configs parsed, weights' headers read and checked. */
export async function openCheckpoint(
  source: CheckpointSource,
  options: OpenWeightsOptions = {},
): Promise<Checkpoint> {
  const { signal } = options;
  const files = await source.list(signal);
  const has = (sub: string) => files.some((f) => f.startsWith(`${sub}/`));
  for (const sub of NEEDED_SUBFOLDERS)
    if (!has(sub)) throw new CheckpointError(`checkpoint ${source.name} has no '${sub}' subfolder`);
  const transformerSubfolder = TRANSFORMER_SUBFOLDERS.find(has);
  if (!transformerSubfolder)
    throw new CheckpointError(`checkpoint ${source.name} has no 'editmgt' (or 'transformer') subfolder`);
  const config = (sub: string, name = 'config.json') => {
    if (!files.includes(`${sub}/${name}`))
      throw new CheckpointError(`checkpoint ${source.name} has no ${sub}/${name}`);
    return readJsonObject(source, `${sub}/${name}`, signal);
  };
  const configs = {
    clip: await config('text_encoder'),
    llm: await config('llm_encoder'),
    vq: await config('vqvae'),
    transformer: await config(transformerSubfolder),
    scheduler: await config('scheduler', 'scheduler_config.json'),
  };
  if (!Number.isSafeInteger(configs.scheduler['mask_token_id']))
    throw new CheckpointError(`${source.name}/scheduler/scheduler_config.json has no mask_token_id`);
  const weights = {
    clip: await openWeights(source, 'text_encoder', options),
    llm: llmWeightNames(await openWeights(source, 'llm_encoder', options), configs.llm),
    vq: await openWeights(source, 'vqvae', options),
    transformer: await openWeights(source, transformerSubfolder, options),
  };
  const tokenizers = {
    clip: await readTokenizerFolder(source, 'tokenizer', signal),
    llm: await readTokenizerFolder(source, 'llm_encoder', signal),
  };
  return { source, transformerSubfolder, configs, weights, tokenizers };
}
