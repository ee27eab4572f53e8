import { describe, expect, it } from 'vitest';
import { maskProblem } from './mask';

/** A white-on-black mask of w×h with the rectangle [x0, x1) × [y0, y1) painted. */
function mask(w: number, h: number, x0: number, y0: number, x1: number, y1: number) {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = x >= x0 && x < x1 && y >= y0 && y < y1 ? 255 : 0;
      data.set([v, v, v, 255], (y * w + x) * 4);
    }
  return { width: w, height: h, buffer: data.buffer };
}

describe('maskProblem', () => {
  it('has nothing to say when inpainting is off', () => {
    expect(maskProblem(false, undefined, [4, 4])).toBeNull();
  });

  it('asks for paint when nothing is painted', () => {
    expect(maskProblem(true, undefined, [4, 4])).toMatch(/nothing is painted/);
  });

  it('accepts a mask that covers a cell', () => {
    expect(maskProblem(true, mask(64, 64, 0, 0, 32, 32), [4, 4])).toBeNull();
  });

  it('names the cell size when the paint is too small for any cell', () => {
    expect(maskProblem(true, mask(64, 48, 30, 20, 32, 22), [4, 4])).toMatch(/4×4 grid \(about 16×12 pixels/);
  });
});
