import { describe, expect, it } from 'vitest';
import { splitWords } from './words';

describe('splitWords', () => {
  it('gives each word its index and character span', () => {
    const text = '  make the\nsky  purple ';
    const words = splitWords(text);
    expect(words.map((w) => w.text)).toEqual(['make', 'the', 'sky', 'purple']);
    expect(words.map((w) => w.index)).toEqual([0, 1, 2, 3]);
    for (const w of words) expect(text.slice(w.from, w.to)).toBe(w.text);
  });

  it('has no words in blank text', () => {
    expect(splitWords(' \n\t')).toEqual([]);
  });
});
