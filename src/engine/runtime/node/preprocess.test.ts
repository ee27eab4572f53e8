/**
 * The engine's image pre-processing against Pillow, as the reference pipeline calls it, on real
 * photos (e2e/fixtures/photos): the source squashed to the model size and the result back to the
 * original size with `Image.resize`'s default filter (bicubic), and the inpainting mask to the
 * token grid (grayscale, Lanczos, binarised at 0.5). Tolerance: none — every output byte equal
 * (compared through sha256; goldens/preprocess/index.json, made by
 * `python -m editmgt_export.preprocess_goldens`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chwToRgba, imageToModelPixels, maskToGrid, resizeImage } from '../../image';
import type { RgbaImage } from '../../image';
import { decodeImage } from '../../../../cli/imageIO';
import { REPO } from './testing/testModel';

const DIR = join(REPO, 'tools/export/goldens/preprocess');
interface Index {
  resizes: {
    photo: string;
    crop: [number, number, number, number] | null;
    size: [number, number];
    input_sha256: string;
    output_sha256: string;
  }[];
  round_trips: { photo: string; resolution: number; model_sha256: string; output_sha256: string }[];
  transparent: { image: string; resolution: number; model_sha256: string }[];
  masks: { mask: string; grid: [number, number]; cells: string }[];
}
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as Index;

const photos = new Map<string, RgbaImage>();
function photo(name: string): RgbaImage {
  if (!photos.has(name))
    photos.set(name, decodeImage(readFileSync(join(REPO, 'e2e/fixtures/photos', name)), name));
  return photos.get(name)!;
}

/** PIL's crop: box (left, top, right, bottom). */
function crop(img: RgbaImage, [l, t, r, b]: [number, number, number, number]): RgbaImage {
  const w = r - l;
  const data = new Uint8ClampedArray(w * (b - t) * 4);
  for (let y = t; y < b; y++)
    data.set(img.data.subarray((y * img.width + l) * 4, (y * img.width + r) * 4), (y - t) * w * 4);
  return { width: w, height: b - t, data };
}

/** sha256 of the RGB bytes (alpha dropped), as the fixture hashes PIL's RGB images. */
function rgbSha(img: RgbaImage): string {
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) rgb.set(img.data.subarray(i * 4, i * 4 + 3), i * 3);
  return createHash('sha256').update(rgb).digest('hex');
}

describe('bicubic resize equals Pillow on real photos', () => {
  for (const c of index.resizes) {
    const src = () => (c.crop ? crop(photo(c.photo), c.crop) : photo(c.photo));
    it(`${c.photo}${c.crop ? ` crop ${c.crop.join(',')}` : ''} → ${c.size.join('×')}`, () => {
      const img = src();
      expect(rgbSha(img), 'decoded input differs from PIL').toBe(c.input_sha256);
      expect(rgbSha(resizeImage(img, c.size[0], c.size[1]))).toBe(c.output_sha256);
    });
  }
  for (const c of index.round_trips) {
    it(`${c.photo} → model input ${c.resolution}² → back to the original size`, () => {
      const img = photo(c.photo);
      const model = chwToRgba(
        imageToModelPixels(img, c.resolution, c.resolution),
        c.resolution,
        c.resolution,
      );
      expect(rgbSha(model)).toBe(c.model_sha256);
      expect(rgbSha(resizeImage(model, img.width, img.height))).toBe(c.output_sha256);
    });
  }
});

describe('a source with transparency is resized as Pillow resizes RGBA (premultiplied)', () => {
  for (const c of index.transparent) {
    it(`${c.image} → model input ${c.resolution}²`, () => {
      const img = decodeImage(readFileSync(join(DIR, c.image)), c.image);
      expect(img.data.some((v, i) => i % 4 === 3 && v < 255)).toBe(true);
      const model = chwToRgba(
        imageToModelPixels(img, c.resolution, c.resolution),
        c.resolution,
        c.resolution,
      );
      expect(rgbSha(model)).toBe(c.model_sha256);
    });
  }
});

describe('inpainting mask to the token grid equals the reference mask processor', () => {
  for (const c of index.masks) {
    it(`${c.mask} → ${c.grid.join('×')}`, () => {
      const mask = decodeImage(readFileSync(join(DIR, c.mask)), c.mask);
      const cells = maskToGrid(mask, c.grid[0], c.grid[1]);
      expect(Array.from(cells).join('')).toBe(c.cells);
    });
  }
});
