/**
 * The CLIP tokenizer made from vocab.json + merges.txt alone, against the tokenizer the folder
 * stands for: the tiny model's CLIP tokenizer, saved as the slow tokenizer saves it (vocab.json
 * and merges.txt written from the shipped tokenizer.json's model). The made tokenizer.json, with
 * the package's padding, is byte for byte the shipped package's tokenizer_clip/tokenizer.json;
 * through @huggingface/tokenizers it gives the Python tokenizer's ids on the golden prompts
 * (goldens/tiny-random/tokenizer) and on the CLIP text corpus (goldens/clip-text), exactly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { CheckpointError, memorySource } from './byteSource';
import {
  clipTokenizerJson,
  parseMerges,
  parseVocab,
  tokenizerJsonText,
  withFixedLength,
} from './clipTokenizer';
import type { TokenizerJson } from './clipTokenizer';
import { readTokenizerFolder } from './tokenizerFolder';
import { hfTokenizer } from '../hfTokenizer';
import { clipTokens } from '../textEncoder';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const SHIPPED = join(REPO, 'public/models/tiny-random/tokenizer_clip');
const GOLDENS = join(REPO, 'tools/export/goldens');
const enc = (s: string) => new TextEncoder().encode(s);

const shippedText = readFileSync(join(SHIPPED, 'tokenizer.json'), 'utf8');
const shipped = JSON.parse(shippedText) as TokenizerJson;
const tokenizerConfig = JSON.parse(readFileSync(join(SHIPPED, 'tokenizer_config.json'), 'utf8')) as Record<
  string,
  unknown
>;

/** vocab.json and merges.txt as transformers' slow CLIPTokenizer.save_vocabulary writes them */
function slowFiles(json: TokenizerJson): Record<string, string> {
  const sorted = Object.fromEntries(
    Object.entries(json.model.vocab).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  return {
    'vocab.json': JSON.stringify(sorted, null, 2) + '\n',
    'merges.txt': '#version: 0.2\n' + json.model.merges.map(([a, b]) => `${a} ${b}\n`).join(''),
  };
}

async function madeFolder(extra: Record<string, string> = {}) {
  const files = {
    ...slowFiles(shipped),
    'special_tokens_map.json': '{}',
    'tokenizer_config.json': JSON.stringify(tokenizerConfig),
    ...extra,
  };
  return readTokenizerFolder(
    memorySource(
      'ckpt',
      Object.fromEntries(Object.entries(files).map(([k, v]) => [`tokenizer/${k}`, enc(v)])),
    ),
    'tokenizer',
  );
}

function engine(text: string) {
  return hfTokenizer(new HfTokenizer(JSON.parse(text) as object, tokenizerConfig), {
    tokenizerJson: JSON.parse(text),
    tokenizerConfig,
  });
}

interface Goldens {
  prompts: Record<string, string>;
}
function goldenIds(name: string): number[] {
  const b = readFileSync(join(GOLDENS, 'tiny-random/tokenizer', name, 'clip_ids.bin'));
  return Array.from(new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4));
}

describe('CLIP tokenizer from vocab.json + merges.txt', () => {
  it('the made tokenizer.json, padded as the package pads, is the shipped one byte for byte', async () => {
    const folder = await madeFolder();
    expect(folder.layout).toBe('vocab.json+merges.txt');
    const made = folder.made!;
    expect(made.padding).toBeNull();
    expect(tokenizerJsonText(made)).toBe(folder.tokenizerJson);
    const padded = withFixedLength(made, {
      maxLength: 77,
      padId: 591,
      padToken: '<|endoftext|>',
      side: 'right',
    });
    expect(tokenizerJsonText(padded)).toBe(shippedText);
  });

  it('gives the Python tokenizer ids on every golden prompt and on the CLIP text corpus', async () => {
    const made = engine((await madeFolder()).tokenizerJson);
    const { prompts } = JSON.parse(readFileSync(join(GOLDENS, 'tiny-random/index.json'), 'utf8')) as Goldens;
    expect(Object.keys(prompts).length).toBeGreaterThanOrEqual(5);
    for (const [name, text] of Object.entries(prompts))
      expect(Array.from(clipTokens(made, text, 77).ids), name).toEqual(goldenIds(name));
    const corpus = JSON.parse(readFileSync(join(GOLDENS, 'clip-text/index.json'), 'utf8')) as {
      length: number;
      pad_id: number;
      cases: { text: string; ids: number[] }[];
    };
    expect(corpus.cases.length).toBeGreaterThanOrEqual(200);
    const wrong = corpus.cases.filter((c) => {
      const want = [...c.ids, ...new Array<number>(corpus.length - c.ids.length).fill(corpus.pad_id)];
      return Array.from(clipTokens(made, c.text, corpus.length).ids).join() !== want.join();
    });
    expect(wrong.map((c) => c.text)).toEqual([]);
  });

  it('the folder tokenizer.json is read as it is when present', async () => {
    const folder = await madeFolder({ 'tokenizer.json': shippedText });
    expect(folder.layout).toBe('tokenizer.json');
    expect(folder.tokenizerJson).toBe(shippedText);
    expect(folder.tokenizerConfig).toEqual(tokenizerConfig);
  });

  it('bad files are refused naming the file and line', () => {
    const vocab = parseVocab('{"a": 0, "b": 1, "ab": 2}', 'v.json');
    expect(parseMerges('#version: 0.2\na b\n\n', 'm.txt', vocab)).toEqual([['a', 'b']]);
    expect(() => parseMerges('a b c\n', 'm.txt', vocab)).toThrow(
      'm.txt line 1: expected two pieces separated by one space, got "a b c"',
    );
    expect(() => parseMerges('#version: 0.2\nb a\n', 'm.txt', vocab)).toThrow(
      'm.txt line 2: "ba" is not in the vocabulary',
    );
    expect(() => parseVocab('{"a": 0, "b": 0}', 'v.json')).toThrow('v.json: tokens "a" and "b" share id 0');
    expect(() => parseVocab('{"a": "x"}', 'v.json')).toThrow('v.json: token "a" has id "x", not an id');
    expect(() =>
      clipTokenizerJson({ vocabJson: '{"a": 0}', mergesTxt: '', where: 'ckpt/tokenizer' }),
    ).toThrow('ckpt/tokenizer/vocab.json has no <|startoftext|>: not a CLIP vocabulary');
  });

  it('a folder with neither layout, or vocab.json without merges.txt, is refused', async () => {
    const src = memorySource('ckpt', {
      'tokenizer/vocab.json': enc('{}'),
      'other/tokenizer.model': enc('x'),
    });
    await expect(readTokenizerFolder(src, 'tokenizer')).rejects.toThrow(
      'ckpt/tokenizer has vocab.json but no merges.txt',
    );
    await expect(readTokenizerFolder(src, 'other')).rejects.toThrow(
      new CheckpointError(
        'ckpt/other has neither tokenizer.json nor vocab.json + merges.txt (a SentencePiece tokenizer.model alone is not read)',
      ),
    );
  });
});
