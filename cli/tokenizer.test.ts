/**
 * The tokenizer adapter (@huggingface/tokenizers + padding/truncation) against the Python
 * `tokenizers` ids (fixture: __fixtures__/tokenizer_ids.json, and the goldens when present).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateManifest } from '../src/engine/manifest';
import { loadTokenizer } from './modelPackage';
import { hasTiny, TINY } from './testModel';

interface Case {
  tokenizer: 'tokenizer_clip' | 'tokenizer_llm';
  text: string;
  ids: number[];
  attention_mask: number[];
  truncated: boolean;
}

describe.skipIf(!hasTiny)('tokenizers match the Python tokenizers library', () => {
  const manifest = validateManifest(JSON.parse(readFileSync(`${TINY}/manifest.json`, 'utf8')));
  const tok = { tokenizer_clip: loadTokenizer(TINY, manifest.tokenizers.clip), tokenizer_llm: loadTokenizer(TINY, manifest.tokenizers.llm) };
  const len = { tokenizer_clip: manifest.tokenizers.clip.max_length, tokenizer_llm: manifest.tokenizers.llm.max_length };
  const cases = (JSON.parse(readFileSync(new URL('./__fixtures__/tokenizer_ids.json', import.meta.url), 'utf8')) as { cases: Case[] }).cases;
  for (const c of cases) {
    it(`${c.tokenizer}: ${JSON.stringify(c.text.length > 40 ? `${c.text.slice(0, 40)}…` : c.text)}`, () => {
      const enc = tok[c.tokenizer].encode(c.text, len[c.tokenizer]);
      expect(Array.from(enc.ids)).toEqual(c.ids);
      expect(Array.from(enc.attentionMask)).toEqual(c.attention_mask);
      expect(enc.truncated).toBe(c.truncated);
    });
  }
});
