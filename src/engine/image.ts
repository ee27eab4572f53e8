/**
 * Image kernels on typed arrays: RGBA ⇄ model tensors, resizing, and the original-resolution
 * composite (keep the source's own pixels where the final tokens equal the source tokens).
 * Pure functions; inputs are never mutated.
 */
import { f32 } from './float32';
import { resizePil, resizePilGray, resizePilRgba } from './resample';

/** 8-bit RGBA, row-major, `data.length = width·height·4`. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray | Uint8Array;
}

export { resizePil, resizePilBilinear, resizePilGray, resizePilRgba } from './resample';

/** Throws unless `data` holds width·height RGBA pixels. */
export function checkImage(img: RgbaImage, what = 'image'): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new Error(`${what}: bad size ${img.width}×${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 4) {
    throw new Error(`${what}: ${img.data.length} bytes for ${img.width}×${img.height} RGBA`);
  }
}

/**
 * Source image → model input: squash to width×height with Pillow's `resize` default (bicubic),
 * as the reference does, then RGB / 255 as float32. An image with transparency is resized as
 * Pillow resizes an RGBA image (premultiplied), before its alpha is dropped, as the reference
 * resizes the opened file before converting it to RGB.
 * @returns Float32Array [3, height, width] (CHW) in [0, 1]
 */
export function imageToModelPixels(img: RgbaImage, width: number, height: number): Float32Array {
  checkImage(img);
  if (img.width === width && img.height === height) return rgbaToChw(img);
  return rgbaToChw(
    hasTransparency(img)
      ? resizePilRgba(img, width, height, 'bicubic')
      : resizePil(img, width, height, 'bicubic'),
  );
}

function hasTransparency(img: RgbaImage): boolean {
  for (let i = 3; i < img.data.length; i += 4) if (img.data[i] !== 255) return true;
  return false;
}

/** RGBA → CHW float32 x/255 (torchvision ToTensor). @returns Float32Array [3·H·W] */
export function rgbaToChw(img: RgbaImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[i] = f32(img.data[i * 4]! / 255);
    out[n + i] = f32(img.data[i * 4 + 1]! / 255);
    out[2 * n + i] = f32(img.data[i * 4 + 2]! / 255);
  }
  return out;
}

/** round(float32(x·255)) half to even, as diffusers' numpy_to_pil, clipped to [0, 255]. */
function toByte(x: number): number {
  const v = f32(x * 255);
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1; // Math.round rounds .5 up; numpy rounds to even
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/** CHW float [0, 1] → RGBA. @param chw Float32Array [3·H·W] */
export function chwToRgba(chw: Float32Array, width: number, height: number): RgbaImage {
  const n = width * height;
  if (chw.length !== 3 * n) throw new Error(`chwToRgba: ${chw.length} values for 3×${height}×${width}`);
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = toByte(chw[i]!);
    out[i * 4 + 1] = toByte(chw[n + i]!);
    out[i * 4 + 2] = toByte(chw[2 * n + i]!);
    out[i * 4 + 3] = 255;
  }
  return { width, height, data: out };
}

/** Resize to any size with Pillow's `resize` default, bicubic (antialiased when shrinking). */
export function resizeImage(img: RgbaImage, width: number, height: number): RgbaImage {
  checkImage(img);
  return img.width === width && img.height === height ? img : resizePil(img, width, height, 'bicubic');
}

/** Pillow's convert('L') (ITU-R 601-2 luma in 16-bit fixed point, rounded; alpha ignored). @returns [h·w] */
export function rgbaToGray(img: RgbaImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++)
    out[i] = (d[i * 4]! * 19595 + d[i * 4 + 1]! * 38470 + d[i * 4 + 2]! * 7471 + 0x8000) >>> 16;
  return out;
}

export interface CompositeInput {
  /** the user's image at full resolution */
  readonly original: RgbaImage;
  /** the decoded edit, already resized to the original's size */
  readonly edited: RgbaImage;
  /** [gridH·gridW] 1 where the final token differs from the source token */
  readonly changed: Uint8Array;
  readonly gridH: number;
  readonly gridW: number;
  /** seam width in token cells (default 1): the blend ramps over this distance outside changed cells */
  readonly featherCells?: number;
}

/**
 * Keeps the original pixels wherever the tokens are unchanged: alpha = 1 on changed cells,
 * ramping to exactly 0 within `featherCells` cells of them (dilate, then box blur), so
 * unedited areas are the source's pixels bit for bit.
 */
export function compositeUnchanged(input: CompositeInput): { image: RgbaImage; alpha: Uint8Array } {
  const { original, edited, changed, gridH, gridW } = input;
  checkImage(original, 'original');
  checkImage(edited, 'edited');
  if (edited.width !== original.width || edited.height !== original.height) {
    throw new Error('compositeUnchanged: edited and original sizes differ');
  }
  if (changed.length !== gridH * gridW) throw new Error('compositeUnchanged: mask does not match the grid');
  const W = original.width;
  const H = original.height;
  // half a cell per axis: dilate + blur reach one cell (times featherCells) past changed cells
  const cells = input.featherCells ?? 1;
  const rx = Math.max(1, Math.floor((cells * W) / gridW / 2));
  const ry = Math.max(1, Math.floor((cells * H) / gridH / 2));
  const alpha = featherMask(cellMaskToPixels(changed, gridH, gridW, W, H), W, H, rx, ry);
  const out = new Uint8ClampedArray(original.data.length);
  for (let i = 0; i < W * H; i++) {
    const a = alpha[i]!;
    const p = i * 4;
    if (a === 0) {
      out[p] = original.data[p]!;
      out[p + 1] = original.data[p + 1]!;
      out[p + 2] = original.data[p + 2]!;
    } else {
      const b = 255 - a;
      out[p] = (edited.data[p]! * a + original.data[p]! * b + 127) / 255;
      out[p + 1] = (edited.data[p + 1]! * a + original.data[p + 1]! * b + 127) / 255;
      out[p + 2] = (edited.data[p + 2]! * a + original.data[p + 2]! * b + 127) / 255;
    }
    out[p + 3] = original.data[p + 3]!;
  }
  return { image: { width: W, height: H, data: out }, alpha };
}

/** Token-cell mask → pixel mask (each pixel takes the cell its centre falls in). @returns [H·W] */
export function cellMaskToPixels(
  cells: Uint8Array,
  gridH: number,
  gridW: number,
  W: number,
  H: number,
): Uint8Array {
  const colCell = new Int32Array(W);
  for (let x = 0; x < W; x++) colCell[x] = Math.min(gridW - 1, Math.floor(((x + 0.5) * gridW) / W));
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const row = Math.min(gridH - 1, Math.floor(((y + 0.5) * gridH) / H)) * gridW;
    for (let x = 0; x < W; x++) out[y * W + x] = cells[row + colCell[x]!] ? 1 : 0;
  }
  return out;
}

/** Dilate a binary [H·W] mask by (rx, ry), then box-blur by (rx, ry): 255 on the mask, 0 beyond twice the radius. */
export function featherMask(mask: Uint8Array, W: number, H: number, rx: number, ry = rx): Uint8Array {
  const dilated = boxSum(boxSum(mask, W, H, rx, true), W, H, ry, false);
  for (let i = 0; i < dilated.length; i++) dilated[i] = dilated[i]! > 0 ? 1 : 0;
  const sums = boxSum(boxSum(dilated, W, H, rx, true), W, H, ry, false);
  // divide by the in-image part of each window, so the mask stays 255 at the image's edges
  const inside = (i: number, len: number, r: number): number =>
    Math.min(len - 1, i + r) - Math.max(0, i - r) + 1;
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const cy = inside(y, H, ry);
    for (let x = 0; x < W; x++)
      out[y * W + x] = Math.round((sums[y * W + x]! * 255) / (cy * inside(x, W, rx)));
  }
  return out;
}

/** Running box sum of radius r along rows or columns; out-of-image samples count as 0. */
function boxSum(src: ArrayLike<number>, W: number, H: number, r: number, alongRows: boolean): Uint32Array {
  const out = new Uint32Array(W * H);
  const lines = alongRows ? H : W;
  const len = alongRows ? W : H;
  const stride = alongRows ? 1 : W;
  for (let l = 0; l < lines; l++) {
    const base = alongRows ? l * W : l;
    let acc = 0;
    for (let i = 0; i < Math.min(r, len); i++) acc += src[base + i * stride]!;
    for (let i = 0; i < len; i++) {
      if (i + r < len) acc += src[base + (i + r) * stride]!;
      if (i - r - 1 >= 0) acc -= src[base + (i - r - 1) * stride]!;
      out[base + i * stride] = acc;
    }
  }
  return out;
}

/** Palette preview of a token grid: codebook colours, mask ids grey. @param colors [codebook·3] uint8 */
export function paletteImage(
  tokens: Int32Array,
  gridH: number,
  gridW: number,
  colors: Uint8Array,
  maskTokenId: number,
): RgbaImage {
  const data = new Uint8ClampedArray(gridH * gridW * 4);
  const nColors = colors.length / 3;
  for (let i = 0; i < gridH * gridW; i++) {
    const t = tokens[i]!;
    const p = i * 4;
    if (t === maskTokenId || t < 0 || t >= nColors) {
      data[p] = data[p + 1] = data[p + 2] = 128;
      data[p + 3] = t === maskTokenId ? 96 : 255;
    } else {
      data[p] = colors[t * 3]!;
      data[p + 1] = colors[t * 3 + 1]!;
      data[p + 2] = colors[t * 3 + 2]!;
      data[p + 3] = 255;
    }
  }
  return { width: gridW, height: gridH, data };
}

/**
 * Downsamples a user mask (any size, RGBA; white = edit, alpha ignored) to the token grid as
 * the reference's mask processor does: grayscale first, Lanczos resize to the grid (its
 * default filter), binarise at 0.5. @returns [h·w] 0/1
 */
export function maskToGrid(mask: RgbaImage, gridH: number, gridW: number): Uint8Array {
  checkImage(mask, 'mask');
  const small = resizePilGray(rgbaToGray(mask), mask.width, mask.height, gridW, gridH, 'lanczos');
  // float32(v / 255) >= 0.5 holds exactly for v >= 128
  return Uint8Array.from(small, (v) => (v >= 128 ? 1 : 0));
}

/** Applies an EXIF orientation (1–8) so the pixels are upright, as PIL's exif_transpose does. */
export function applyExifOrientation(img: RgbaImage, orientation: number): RgbaImage {
  if (!(orientation >= 2 && orientation <= 8)) return img;
  const { width: W, height: H, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? H : W;
  const oh = swap ? W : H;
  const src = (x: number, y: number): [number, number] => {
    switch (orientation) {
      case 2:
        return [W - 1 - x, y];
      case 3:
        return [W - 1 - x, H - 1 - y];
      case 4:
        return [x, H - 1 - y];
      case 5:
        return [y, x];
      case 6:
        return [y, H - 1 - x];
      case 7:
        return [W - 1 - y, H - 1 - x];
      default:
        return [W - 1 - y, x];
    }
  };
  const out = new Uint8ClampedArray(ow * oh * 4);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const [sx, sy] = src(x, y);
      const s = (sy * W + sx) * 4;
      const d = (y * ow + x) * 4;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
      out[d + 3] = data[s + 3]!;
    }
  }
  return { width: ow, height: oh, data: out };
}
