import { describe, expect, it } from 'vitest';
import {
  cellMaskToPixels,
  chwToRgba,
  compositeUnchanged,
  featherMask,
  imageToModelPixels,
  maskToGrid,
  paletteImage,
  rgbaToChw,
} from './image';
import type { RgbaImage } from './image';

function solid(w: number, h: number, rgb: [number, number, number]): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], i * 4);
  return { width: w, height: h, data };
}

describe('image tensors', () => {
  it('RGBA → CHW /255 → RGBA round-trips every byte', () => {
    const data = new Uint8ClampedArray(256 * 4);
    for (let i = 0; i < 256; i++) data.set([i, 255 - i, (i * 7) % 256, 255], i * 4);
    const img = { width: 16, height: 16, data };
    const chw = rgbaToChw(img);
    expect(chw[1]).toBeCloseTo(1 / 255, 7);
    expect(chw[256]).toBe(1);
    expect(Array.from(chwToRgba(chw, 16, 16).data)).toEqual(Array.from(data));
  });
  it('rounds half to even and clips like numpy', () => {
    const chw = Float32Array.from([0.5 / 255, 1.5 / 255, 2, -1, 0, 0, 0, 0, 0].map(Math.fround));
    const out = chwToRgba(
      Float32Array.from([chw[0]!, chw[1]!, chw[2]!, chw[3]!, 0, 0, 0, 0, 0].slice(0, 9)),
      3,
      1,
    );
    expect(out.data[0]).toBe(0); // round(0.5) = 0
    expect(out.data[4]).toBe(2); // round(1.5) = 2
    expect(out.data[8]).toBe(255);
  });
  it('squashes any size to the model resolution', () => {
    const px = imageToModelPixels(solid(30, 20, [255, 0, 51]), 8, 8);
    expect(px.length).toBe(3 * 64);
    expect(px[0]).toBe(1);
    expect(px[64]).toBe(0);
    expect(px[128]).toBeCloseTo(0.2, 6);
  });
});

describe('original-resolution composite', () => {
  it('keeps original pixels exactly away from changed cells and the edit inside them', () => {
    const W = 64;
    const H = 48;
    const original = solid(W, H, [10, 20, 30]);
    const edited = solid(W, H, [200, 100, 0]);
    const changed = new Uint8Array(8 * 8);
    changed[0] = 1; // top-left cell (8×6 px)
    const { image, alpha } = compositeUnchanged({ original, edited, changed, gridH: 8, gridW: 8 });
    const px = (x: number, y: number) => Array.from(image.data.slice((y * W + x) * 4, (y * W + x) * 4 + 4));
    expect(px(2, 2)).toEqual([200, 100, 0, 255]);
    expect(px(40, 30)).toEqual([10, 20, 30, 255]);
    expect(alpha[30 * W + 40]).toBe(0);
    // the seam ramps monotonically along a row leaving the edited cell
    const row = Array.from({ length: 20 }, (_, x) => alpha[2 * W + x]!);
    for (let x = 1; x < row.length; x++) expect(row[x]).toBeLessThanOrEqual(row[x - 1]!);
    expect(row.some((a) => a > 0 && a < 255)).toBe(true);
  });
  it('changes nothing when no token changed', () => {
    const original = solid(10, 10, [1, 2, 3]);
    const { image } = compositeUnchanged({
      original,
      edited: solid(10, 10, [9, 9, 9]),
      changed: new Uint8Array(4),
      gridH: 2,
      gridW: 2,
    });
    expect(Array.from(image.data)).toEqual(Array.from(original.data));
  });
  it('feather is 255 on the mask and 0 beyond 2r', () => {
    const m = new Uint8Array(20);
    m[0] = 1;
    const a = featherMask(m, 20, 1, 2);
    expect(a[0]).toBe(255);
    expect(a[5]).toBe(0);
  });
  it('maps cells to pixels by pixel centre', () => {
    expect(Array.from(cellMaskToPixels(Uint8Array.from([1, 0]), 1, 2, 4, 1))).toEqual([1, 1, 0, 0]);
  });
});

describe('previews and masks', () => {
  it('paints tokens with codebook colours and mask ids grey', () => {
    const img = paletteImage(Int32Array.from([0, 1, 9]), 1, 3, Uint8Array.from([255, 0, 0, 0, 255, 0]), 9);
    expect(Array.from(img.data)).toEqual([255, 0, 0, 255, 0, 255, 0, 255, 128, 128, 128, 96]);
  });
  it('downsamples a user mask to the grid, binarised at 0.5', () => {
    const m = solid(16, 16, [0, 0, 0]);
    for (let y = 0; y < 16; y++)
      for (let x = 8; x < 16; x++) m.data.set([255, 255, 255, 255], (y * 16 + x) * 4);
    expect(Array.from(maskToGrid(m, 2, 2))).toEqual([0, 1, 0, 1]);
  });
});

describe('psnr', () => {
  it('is infinite for equal images, 20·log10(255/d) for a constant difference, masked by include', async () => {
    const { psnr } = await import('./metrics');
    const a = solid(4, 4, [10, 10, 10]);
    const b = solid(4, 4, [20, 10, 10]);
    expect(psnr(a, a)).toBe(Infinity);
    // MSE = 100/3 over RGB
    expect(psnr(a, b)).toBeCloseTo(10 * Math.log10((255 * 255) / (100 / 3)), 9);
    expect(Number.isNaN(psnr(a, b, new Uint8Array(16)))).toBe(true);
  });
});

describe('EXIF orientation', () => {
  it('rotates 90° clockwise for orientation 6 and is the identity for 1', async () => {
    const { applyExifOrientation } = await import('./image');
    // 2×1: red, green  → upright 1×2: red on top? orientation 6 shows the stored left column at the top-right
    const img = { width: 2, height: 1, data: Uint8ClampedArray.from([255, 0, 0, 255, 0, 255, 0, 255]) };
    expect(applyExifOrientation(img, 1)).toBe(img);
    const r = applyExifOrientation(img, 6);
    expect([r.width, r.height]).toEqual([1, 2]);
    expect(Array.from(r.data)).toEqual([255, 0, 0, 255, 0, 255, 0, 255]);
    const r8 = applyExifOrientation(img, 8);
    expect(Array.from(r8.data)).toEqual([0, 255, 0, 255, 255, 0, 0, 255]);
    const r3 = applyExifOrientation(img, 3);
    expect(Array.from(r3.data)).toEqual([0, 255, 0, 255, 255, 0, 0, 255]);
  });
});
