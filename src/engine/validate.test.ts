/** The input rules every host shares: the instruction, the image, the package source. */
import { describe, expect, it } from 'vitest';
import { EditError } from './errors';
import { checkPackageSource, checkRgbaImage, instructionProblem, maskSizeProblem } from './validate';

describe('instructionProblem', () => {
  it('takes any instruction with one character that draws something', () => {
    for (const ok of ['make it red', '\u200bred\u200b', 'rouge 🟥', '猫を黒くして', ' x ', '\u0301a'])
      expect(instructionProblem(ok), JSON.stringify(ok)).toBeNull();
  });

  it('refuses empty, invisible-only and non-text instructions, each with its message', () => {
    expect(instructionProblem('')).toBe('the instruction is empty');
    expect(instructionProblem(' \n\t')).toBe('the instruction is empty');
    for (const invisible of [
      '\u200b\u200b\u200b', // zero-width spaces
      '\u200c\u200d\u2060', // joiners, word joiner
      ' \ufeff\u200b\n', // BOM among spaces
      '\u00ad\u034f\ufe0f', // soft hyphen, grapheme joiner, variation selector
      '\u200e\u200f\u202e', // direction marks and overrides
      '\u3164\u115f', // Hangul fillers
      '\u0000\u0007\u001b', // control characters
    ])
      expect(instructionProblem(invisible), JSON.stringify(invisible)).toBe(
        'the instruction has only invisible characters (zero-width spaces, joiners or marks)',
      );
    expect(instructionProblem(undefined)).toBe('the instruction must be text, got nothing');
    expect(instructionProblem(['x'])).toBe('the instruction must be text, got an Array');
  });
});

describe('checkRgbaImage and the mask size', () => {
  const rgba = (width: number, height: number) => ({
    width,
    height,
    data: new Uint8Array(width * height * 4),
  });
  const refusal = (f: () => void): [string, string] | null => {
    try {
      f();
      return null;
    } catch (e) {
      return e instanceof EditError ? [e.code, e.message] : ['not an EditError', String(e)];
    }
  };

  it('takes RGBA bytes of the image size, in either byte array', () => {
    expect(refusal(() => checkRgbaImage(rgba(3, 2)))).toBeNull();
    expect(refusal(() => checkRgbaImage({ width: 1, height: 1, data: new Uint8ClampedArray(4) }))).toBeNull();
  });

  it('says what is wrong with the size before the data, and the megapixel limit first of all', () => {
    expect(refusal(() => checkRgbaImage({ width: 10_000, height: 6_000, data: new Uint8Array(0) }))).toEqual([
      'image-too-large',
      'the image is 10000×6000 (60 megapixels); the limit is 50 megapixels — scale it down and try again',
    ]);
    expect(refusal(() => checkRgbaImage({ width: 0, height: 2, data: new Uint8Array(0) }))).toEqual([
      'bad-image',
      "the image's width and height must be whole numbers of at least 1, got 0×2",
    ]);
    expect(refusal(() => checkRgbaImage({ width: 2.5, height: 2, data: new Uint8Array(20) }))?.[0]).toBe(
      'bad-image',
    );
    expect(refusal(() => checkRgbaImage(rgba(2, 2), 'the mask', 'bad-settings'))).toBeNull();
    expect(
      refusal(() =>
        checkRgbaImage({ width: 2, height: 2, data: new Int8Array(16) }, 'the mask', 'bad-settings'),
      ),
    ).toEqual([
      'bad-settings',
      "the mask's data must be a Uint8Array or Uint8ClampedArray of RGBA bytes, got an Int8Array",
    ]);
  });

  it('names both sizes when a mask is not the image’s', () => {
    expect(maskSizeProblem(rgba(45, 30), rgba(451, 300))).toBe(
      "the mask is 45×30 but the image is 451×300; the mask must be the image's size",
    );
    expect(maskSizeProblem(rgba(451, 300), rgba(451, 300))).toBeNull();
  });
});

describe('checkPackageSource', () => {
  it('refuses an empty or non-text source, which would otherwise open the current folder', () => {
    expect(() => checkPackageSource('', '--model')).toThrow(/^--model needs a model package: .*; got ""$/);
    expect(() => checkPackageSource(' ', 'fromPretrained')).toThrow(/got " "$/);
    expect(() => checkPackageSource(undefined, 'fromPretrained')).toThrow(/got undefined$/);
    expect(() => checkPackageSource('public/models/tiny-random', '--model')).not.toThrow();
  });
});
