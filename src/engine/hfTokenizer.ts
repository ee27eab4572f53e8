/**
 * Padding and truncation around a Hugging Face tokenizer.json engine, the way the Python
 * `tokenizer(text, truncation=True, padding="max_length", max_length=N)` call does it:
 * content truncated to N − (special tokens), specials added, padded to N with the pad token
 * on the configured side. The engine only sees a structural `BpeEncoder` (the worker and the
 * CLI pass @huggingface/tokenizers' Tokenizer), so it imports no tokenizer library.
 */
import type { Encoding, Tokenizer } from './ports';

/** The part of @huggingface/tokenizers' Tokenizer we use. */
export interface BpeEncoder {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
  id_to_token?(id: number): string | undefined;
}

/** tokenizer.json and tokenizer_config.json, parsed (only the fields we read are typed). */
export interface TokenizerFiles {
  readonly tokenizerJson: { padding?: { pad_id?: number; direction?: string } | null } & Record<
    string,
    unknown
  >;
  readonly tokenizerConfig?: Record<string, unknown>;
}

function tokenContent(t: unknown): string | undefined {
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && typeof (t as { content?: unknown }).content === 'string')
    return (t as { content: string }).content;
  return undefined;
}

/** A pad id stated by the package's manifest (the id the exporter used). */
export interface PaddingOverride {
  readonly padId?: number;
}

/**
 * The side a tokenizer pads on, from its own files: tokenizer.json's padding direction (the
 * exporter writes the side the loaded tokenizer really uses, class default included: a Gemma
 * tokenizer config without `padding_side` pads left), else tokenizer_config.json's
 * `padding_side`, else right. Worker and CLI both go through this one rule; nothing overrides it.
 */
export function tokenizerPaddingSide(files: TokenizerFiles): 'left' | 'right' {
  const side = files.tokenizerJson.padding?.direction ?? files.tokenizerConfig?.['padding_side'] ?? 'right';
  return String(side).toLowerCase() === 'left' ? 'left' : 'right';
}

export function hfTokenizer(
  encoder: BpeEncoder,
  files: TokenizerFiles,
  override: PaddingOverride = {},
): Tokenizer {
  const cfg = files.tokenizerConfig ?? {};
  const padToken = tokenContent(cfg['pad_token']);
  const padId =
    override.padId ??
    (padToken !== undefined ? encoder.token_to_id(padToken) : undefined) ??
    files.tokenizerJson.padding?.pad_id;
  if (padId === undefined)
    throw new Error('tokenizer has no pad token (tokenizer_config.pad_token or tokenizer.json padding)');
  const padLeft = tokenizerPaddingSide(files) === 'left';
  const truncLeft = String(cfg['truncation_side'] ?? 'right').toLowerCase() === 'left';

  // Where the special tokens go: compare a probe with and without them.
  const probe = encoder.encode('a', { add_special_tokens: false }).ids;
  const full = encoder.encode('a', { add_special_tokens: true }).ids;
  let at = -1;
  for (let i = 0; i + probe.length <= full.length && at < 0; i++)
    if (probe.every((id, j) => full[i + j] === id)) at = i;
  if (at < 0) throw new Error('cannot locate the content between the special tokens');
  const prefix = full.slice(0, at);
  const suffix = full.slice(at + probe.length);

  return {
    encode(text: string, maxLength: number): Encoding {
      const room = maxLength - prefix.length - suffix.length;
      if (room < 0) throw new Error(`max length ${maxLength} is shorter than the special tokens`);
      let content = encoder.encode(text, { add_special_tokens: false }).ids;
      const truncated = content.length > room;
      if (truncated) content = truncLeft ? content.slice(content.length - room) : content.slice(0, room);
      const ids = [...prefix, ...content, ...suffix];
      const pad = maxLength - ids.length;
      const outIds = new Int32Array(maxLength).fill(padId);
      const mask = new Int32Array(maxLength);
      const offset = padLeft ? pad : 0;
      for (let i = 0; i < ids.length; i++) {
        outIds[offset + i] = ids[i]!;
        mask[offset + i] = 1;
      }
      return { ids: outIds, attentionMask: mask, truncated };
    },
    tokens(ids: ArrayLike<number>): string[] {
      return Array.from(ids, (id) => encoder.id_to_token?.(id) ?? String(id));
    },
  };
}
