/**
 * The tokenizer adapter (@huggingface/tokenizers + padding/truncation) against the Python
 * `tokenizers` ids (fixture: __fixtures__/tokenizer_ids.json, and the goldens when present).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenizerPaddingSide } from '../../hfTokenizer';
import { readManifest } from './manifestFile';
import { loadTokenizer } from './modelPackage';
import { hasTiny, TINY } from './testing/testModel';

interface Case {
  tokenizer: 'tokenizer_clip' | 'tokenizer_llm';
  text: string;
  ids: number[];
  attention_mask: number[];
  truncated: boolean;
}

const manifest = hasTiny ? readManifest(TINY) : null;
const tok = manifest && {
  tokenizer_clip: await loadTokenizer(TINY, manifest.tokenizers.clip),
  tokenizer_llm: await loadTokenizer(TINY, manifest.tokenizers.llm),
};

describe.skipIf(!manifest || !tok)('tokenizers match the Python tokenizers library', () => {
  if (!manifest || !tok) return;
  const len = {
    tokenizer_clip: manifest.tokenizers.clip.max_length,
    tokenizer_llm: manifest.tokenizers.llm.max_length,
  };
  const fixture = JSON.parse(
    readFileSync(new URL('./__fixtures__/tokenizer_ids.json', import.meta.url), 'utf8'),
  ) as { sha256: Record<string, string>; cases: Case[] };
  // the fixture belongs to one version of the package's tokenizers; a re-exported package needs
  // `tools/export/.venv/bin/python src/engine/runtime/node/__fixtures__/make_tokenizer_ids.py` (the goldens test still runs)
  const sha = (n: string) =>
    createHash('sha256')
      .update(readFileSync(`${TINY}/${n}/tokenizer.json`))
      .digest('hex');
  const current = ['tokenizer_clip', 'tokenizer_llm'].every((n) => fixture.sha256[n] === sha(n));
  it('the fixture was made from the tokenizer files in the package', () => {
    expect(current, 'stale fixture: rerun src/engine/runtime/node/__fixtures__/make_tokenizer_ids.py').toBe(
      true,
    );
  });
  for (const c of fixture.cases) {
    it.skipIf(!current)(
      `${c.tokenizer}: ${JSON.stringify(c.text.length > 40 ? `${c.text.slice(0, 40)}…` : c.text)}`,
      () => {
        const enc = tok[c.tokenizer].encode(c.text, len[c.tokenizer]);
        expect(Array.from(enc.ids)).toEqual(c.ids);
        expect(Array.from(enc.attentionMask)).toEqual(c.attention_mask);
        expect(enc.truncated).toBe(c.truncated);
      },
    );
  }
});

describe.skipIf(!hasTiny)('padding side comes from the tokenizer files', () => {
  const manifest = readManifest(TINY);
  // a left-padding Gemma tokenizer (the class default when its config names no side), in a
  // package whose manifest entry says right
  const dir = mkdtempSync(join(tmpdir(), 'pad-side-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'tokenizer_llm'));
  const tj = JSON.parse(readFileSync(`${TINY}/tokenizer_llm/tokenizer.json`, 'utf8')) as {
    padding: { direction: string };
  };
  tj.padding.direction = 'Left';
  writeFileSync(join(dir, 'tokenizer_llm/tokenizer.json'), JSON.stringify(tj));
  const cfg = JSON.parse(readFileSync(`${TINY}/tokenizer_llm/tokenizer_config.json`, 'utf8')) as Record<
    string,
    unknown
  >;
  delete cfg['padding_side'];
  writeFileSync(join(dir, 'tokenizer_llm/tokenizer_config.json'), JSON.stringify(cfg));
  const entry = {
    ...manifest.tokenizers.llm,
    files: ['tokenizer_llm/tokenizer.json', 'tokenizer_llm/tokenizer_config.json'],
    padding_side: 'right' as const,
  };

  it('the CLI pads on the tokenizer.json side, not the manifest value', async () => {
    const enc = (await loadTokenizer(dir, entry)).encode('make the car blue', 16);
    expect(enc.attentionMask[0]).toBe(0);
    expect(enc.attentionMask[15]).toBe(1);
    expect(enc.ids[0]).toBe(entry.pad_id);
  });
  it('one rule: tokenizer.json direction, then tokenizer_config, then right', () => {
    expect(tokenizerPaddingSide({ tokenizerJson: tj, tokenizerConfig: cfg })).toBe('left');
    expect(
      tokenizerPaddingSide({ tokenizerJson: { padding: null }, tokenizerConfig: { padding_side: 'left' } }),
    ).toBe('left');
    expect(tokenizerPaddingSide({ tokenizerJson: {} })).toBe('right');
  });
});
