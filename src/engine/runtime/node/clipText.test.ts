/**
 * CLIP text normalisation against the reference's tokenizer: the slow CLIP tokenizer with ftfy
 * (goldens/clip-text/index.json, made by `python -m editmgt_export.clip_text_goldens`; the same
 * corpus through transformers' slow CLIPTokenizer gave identical ids). Ids compare exactly, on
 * the tiny model's CLIP tokenizer, through the function the engine encodes prompts with.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixText, normalizeClipText } from '../../clipText';
import { clipTokens } from '../../textEncoder';
import { readManifest } from './manifestFile';
import { loadTokenizer } from './modelPackage';
import { hasTiny, REPO, TINY } from './testing/testModel';

interface Golden {
  tokenizer_sha256: string;
  length: number;
  pad_id: number;
  cases: { text: string; normalized: string; ids: number[]; changed: boolean }[];
}
const golden = JSON.parse(
  readFileSync(join(REPO, 'tools/export/goldens/clip-text/index.json'), 'utf8'),
) as Golden;

describe('CLIP text normalisation equals the slow CLIP tokenizer with ftfy', () => {
  it('the corpus is large and exercises the normalisation', () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(200);
    expect(golden.cases.filter((c) => c.changed).length).toBeGreaterThanOrEqual(100);
  });

  it('normalised text equals Python on every prompt', () => {
    const wrong = golden.cases.filter((c) => normalizeClipText(c.text) !== c.normalized);
    expect(wrong.map((c) => ({ text: c.text, want: c.normalized, got: normalizeClipText(c.text) }))).toEqual(
      [],
    );
  });

  it('ftfy examples', () => {
    // expected values: ftfy 6.3.1's fix_text output
    expect(fixText('Broken text&hellip; it&#x2019;s ﬂubberiﬁc!')).toBe("Broken text… it's flubberific!");
    expect(fixText('ＬＯＵＤ　ＮＯＩＳＥＳ')).toBe('LOUD NOISES');
    expect(fixText('&lt;tag&gt;')).toBe('<tag>');
    expect(fixText('<b>&amp;</b>')).toBe('<b>&amp;</b>'); // may be HTML: left alone
  });

  describe.skipIf(!hasTiny)('ids on the tiny model', () => {
    const manifest = readManifest(TINY);
    const tokenizer = loadTokenizer(TINY, manifest.tokenizers.clip);
    const sha = createHash('sha256')
      .update(readFileSync(`${TINY}/tokenizer_clip/tokenizer.json`))
      .digest('hex');
    it('the goldens were made from this tokenizer', () => {
      expect(sha, 'stale goldens: rerun python -m editmgt_export.clip_text_goldens').toBe(
        golden.tokenizer_sha256,
      );
    });
    it('every prompt gives the reference ids', async () => {
      const tok = await tokenizer;
      const wrong: string[] = [];
      for (const c of golden.cases) {
        const want = [...c.ids, ...new Array<number>(golden.length - c.ids.length).fill(golden.pad_id)];
        if (Array.from(clipTokens(tok, c.text, golden.length).ids).join() !== want.join()) wrong.push(c.text);
      }
      expect(wrong).toEqual([]);
    });
  });
});
