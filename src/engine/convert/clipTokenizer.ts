/**
 * A CLIP tokenizer folder that holds only `vocab.json` + `merges.txt` (the slow tokenizer's files)
 * turned into the `tokenizer.json` a Hugging Face tokenizers engine reads, with the CLIP fast
 * tokenizer's pipeline: NFC, whitespace runs → one space, lower case; CLIP's word pattern, then
 * byte-level pieces; BPE with the `</w>` end-of-word suffix and `<|endoftext|>` for unknown
 * pieces; `<|startoftext|> … <|endoftext|>` around every text. It is the pipeline the Python
 * exporter builds for this layout (`clip_tokenizer_from_vocab_merges`) and the one the tiny
 * checkpoint's own tokenizer.json has, serialised the way tokenizers' `save()` writes it (its key
 * order, two-space indent), so both exporters write the same bytes.
 */
import { CheckpointError } from './byteSource';

/** CLIP's word pattern (transformers' CLIPTokenizer and the exporter use the same). */
export const CLIP_WORD_PATTERN =
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

export const CLIP_BOS = '<|startoftext|>';
export const CLIP_EOS = '<|endoftext|>';

export interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** tokenizer.json as tokenizers writes it (only what a CLIP tokenizer holds). */
export interface TokenizerJson {
  version: '1.0';
  truncation: null | { direction: 'Right' | 'Left'; max_length: number; strategy: 'LongestFirst'; stride: 0 };
  padding: null | {
    strategy: { Fixed: number };
    direction: 'Right' | 'Left';
    pad_to_multiple_of: null;
    pad_id: number;
    pad_type_id: 0;
    pad_token: string;
  };
  added_tokens: AddedToken[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: string;
    continuing_subword_prefix: null;
    end_of_word_suffix: string;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    /** token → id in id order (a Map: a plain object would put integer-like tokens such as "0" first) */
    vocab: ReadonlyMap<string, number>;
    merges: [string, string][];
  };
}

/** vocab.json: token → id, ids distinct non-negative integers. */
export function parseVocab(text: string, where: string): Map<string, number> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${where} is not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new CheckpointError(`${where} is not a token → id object`);
  const vocab = new Map<string, number>();
  const seen = new Map<number, string>();
  for (const [token, id] of Object.entries(raw as Record<string, unknown>)) {
    if (!Number.isSafeInteger(id) || (id as number) < 0)
      throw new CheckpointError(
        `${where}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not an id`,
      );
    const other = seen.get(id as number);
    if (other !== undefined)
      throw new CheckpointError(
        `${where}: tokens ${JSON.stringify(other)} and ${JSON.stringify(token)} share id ${id}`,
      );
    seen.set(id as number, token);
    vocab.set(token, id as number);
  }
  return vocab;
}

/**
 * merges.txt: one `left right` pair per line; a `#version` first line and empty lines skipped
 * (line ends `\n` or `\r\n`); any other line, or a piece the vocabulary lacks, is an error naming
 * the line.
 */
export function parseMerges(
  text: string,
  where: string,
  vocab: ReadonlyMap<string, number>,
): [string, string][] {
  const merges: [string, string][] = [];
  text.split('\n').forEach((line, i) => {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (!l || (i === 0 && l.startsWith('#version'))) return;
    const parts = l.split(' ');
    if (parts.length !== 2)
      throw new CheckpointError(
        `${where} line ${i + 1}: expected two pieces separated by one space, got ${JSON.stringify(l)}`,
      );
    const [a, b] = parts as [string, string];
    for (const piece of [a, b, a + b])
      if (!vocab.has(piece))
        throw new CheckpointError(
          `${where} line ${i + 1}: ${JSON.stringify(piece)} is not in the vocabulary`,
        );
    merges.push([a, b]);
  });
  return merges;
}

export interface ClipTokenizerFiles {
  readonly vocabJson: string;
  readonly mergesTxt: string;
  /** the folder, for messages */
  readonly where: string;
}

const special = (id: number, content: string): AddedToken => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** The tokenizer.json of a CLIP tokenizer folder that has only vocab.json + merges.txt. */
export function clipTokenizerJson(files: ClipTokenizerFiles): TokenizerJson {
  const vocab = parseVocab(files.vocabJson, `${files.where}/vocab.json`);
  const merges = parseMerges(files.mergesTxt, `${files.where}/merges.txt`, vocab);
  const id = (token: string) => {
    const v = vocab.get(token);
    if (v === undefined)
      throw new CheckpointError(`${files.where}/vocab.json has no ${token}: not a CLIP vocabulary`);
    return v;
  };
  const bos = id(CLIP_BOS);
  const eos = id(CLIP_EOS);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(bos, CLIP_BOS), special(eos, CLIP_EOS)].sort((a, b) => a.id - b.id),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_WORD_PATTERN }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [CLIP_EOS, eos],
      cls: [CLIP_BOS, bos],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        { type: 'Replace', pattern: { String: '</w>' }, content: ' ' },
        { type: 'Strip', content: ' ', start: 0, stop: 1 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: CLIP_EOS,
      continuing_subword_prefix: null,
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: new Map([...vocab].sort((a, b) => a[1] - b[1])),
      merges,
    },
  };
}

/**
 * Padding and truncation to a fixed length set inside the tokenizer.json, as the exporter's
 * `enable_truncation(n)` + `enable_padding(length=n, ...)` write them.
 */
export function withFixedLength(
  json: TokenizerJson,
  opts: { maxLength: number; padId: number; padToken: string; side: 'left' | 'right' },
): TokenizerJson {
  return {
    ...json,
    truncation: { direction: 'Right', max_length: opts.maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: {
      strategy: { Fixed: opts.maxLength },
      direction: opts.side === 'left' ? 'Left' : 'Right',
      pad_to_multiple_of: null,
      pad_id: opts.padId,
      pad_type_id: 0,
      pad_token: opts.padToken,
    },
  };
}

/** JSON text as serde_json's pretty printer writes it (two-space indent); Maps keep their order. */
function pretty(value: unknown, indent: string): string {
  const inner = indent + '  ';
  if (value instanceof Map) value = [...value].map(([k, v]) => [String(k), v] as const);
  else if (value && typeof value === 'object' && !Array.isArray(value)) value = Object.entries(value);
  else if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + pretty(v, inner)).join(',\n')}\n${indent}]`;
  } else return JSON.stringify(value) ?? 'null';
  const entries = value as (readonly [string, unknown])[];
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pretty(v, inner)}`).join(',\n')}\n${indent}}`;
}

/** tokenizer.json's text the way tokenizers' `save()` writes it (its key order, two-space indent). */
export function tokenizerJsonText(json: TokenizerJson): string {
  return pretty(json, '');
}
