import { describe, expect, it } from 'vitest';
import { colourAt, heatmapRgba, heldCells, maskOutline, normalise } from './heatmap';

describe('heatmap colours', () => {
  it('maps 0 to near-black and 1 to pale yellow, clamping outside [0, 1]', () => {
    expect(colourAt(0)).toEqual([0, 0, 4]);
    expect(colourAt(1)).toEqual([252, 255, 164]);
    expect(colourAt(-2)).toEqual(colourAt(0));
    expect(colourAt(7)).toEqual(colourAt(1));
    expect(colourAt(Number.NaN)).toEqual(colourAt(0));
  });

  it('gets brighter as attention grows', () => {
    const luma = (v: number) => colourAt(v).reduce((s, c) => s + c, 0);
    for (let v = 0; v < 1; v += 0.05) expect(luma(v + 0.05)).toBeGreaterThan(luma(v));
  });

  it('writes opaque RGBA per cell', () => {
    const rgba = heatmapRgba(Float32Array.of(0, 1));
    expect([...rgba]).toEqual([0, 0, 4, 255, 252, 255, 164, 255]);
  });
});

describe('normalise', () => {
  it('rescales to [0, 1] without touching its input', () => {
    const map = Float32Array.of(2, 4, 6);
    expect([...normalise(map)]).toEqual([0, 0.5, 1]);
    expect([...map]).toEqual([2, 4, 6]);
  });

  it('turns a flat map into zeros', () => {
    expect([...normalise(Float32Array.of(3, 3))]).toEqual([0, 0]);
  });
});

describe('region-hold preview', () => {
  it('holds the cells below λ, none at λ = 0', () => {
    const a = Float32Array.of(0.1, 0.5, 0.9);
    expect([...heldCells(a, 0.5)]).toEqual([1, 0, 0]);
    expect([...heldCells(a, 0)]).toEqual([0, 0, 0]);
  });
});

describe('maskOutline', () => {
  it('outlines one cell with its four edges', () => {
    const s = maskOutline(Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0, 0), 3, 3);
    expect(s).toHaveLength(4);
    expect(s).toContainEqual([1, 1, 2, 1]);
    expect(s).toContainEqual([2, 1, 2, 2]);
  });

  it('draws only the boundary of a block, borders included', () => {
    // A 2×2 block in the top-left corner of a 2×3 grid: perimeter of 8 cell edges.
    expect(maskOutline(Uint8Array.of(1, 1, 0, 1, 1, 0), 2, 3)).toHaveLength(8);
    expect(maskOutline(new Uint8Array(6), 2, 3)).toEqual([]);
  });

  it('refuses a mask of the wrong size', () => {
    expect(() => maskOutline(new Uint8Array(5), 2, 3)).toThrow(/2×3/);
  });
});
