/**
 * Pillow's `Image.resize` for 8-bit images, bit for bit: a separable convolution whose support
 * widens with the downscale factor (so shrinking antialiases), horizontal pass first, weights in
 * fixed point with 22 fractional bits, each pass rounded and clipped to uint8. The filters are
 * Pillow's BILINEAR (triangle), BICUBIC (Keys, a = −0.5; Pillow's default for `resize`) and
 * LANCZOS (3-lobe windowed sinc). Reproducing it exactly keeps the engine's model input
 * identical to the Python reference's.
 */
import type { RgbaImage } from './image';

const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;

export type ResampleFilter = 'bilinear' | 'bicubic' | 'lanczos';

interface Filter {
  readonly support: number;
  readonly weight: (x: number) => number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const t = x * Math.PI;
  return Math.sin(t) / t;
}

const FILTERS: Record<ResampleFilter, Filter> = {
  bilinear: {
    support: 1,
    weight: (x) => {
      const a = x < 0 ? -x : x;
      return a < 1 ? 1 - a : 0;
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const t = x < 0 ? -x : x;
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

interface Coeffs {
  readonly ksize: number;
  readonly bounds: Int32Array; // [out·2] (first input index, tap count)
  readonly k: Int32Array; // [out·ksize] fixed-point weights
}

function precompute(inSize: number, outSize: number, filter: Filter): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const k = new Int32Array(outSize * ksize);
  const pre = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * ss);
      pre[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax ? (ww !== 0 ? pre[x]! / ww : pre[x]!) : 0;
      k[xx * ksize + x] = Math.trunc(v < 0 ? -0.5 + v * ONE : 0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, k };
}

/** Arithmetic shift right by PRECISION_BITS, clipped to [0, 255] (Pillow's clip8). */
function clip8(ss: number): number {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** 8-bit pixels with `stride` bytes per pixel, of which the first `bands` are resampled. */
interface Plane {
  readonly width: number;
  readonly height: number;
  readonly data: ArrayLike<number>;
  readonly stride: number;
  readonly bands: number;
}

function pass(
  src: Plane,
  rows: number,
  rowStart: number,
  out: Uint8Array,
  outW: number,
  c: Coeffs,
  horizontal: boolean,
): void {
  const { stride, bands, data } = src;
  const sums = new Float64Array(bands);
  for (let y = 0; y < rows; y++) {
    for (let xx = 0; xx < outW; xx++) {
      const n = horizontal ? xx : y;
      const first = c.bounds[n * 2]!;
      const taps = c.bounds[n * 2 + 1]!;
      const kb = n * c.ksize;
      sums.fill(HALF);
      for (let t = 0; t < taps; t++) {
        const w = c.k[kb + t]!;
        const p = horizontal
          ? ((y + rowStart) * src.width + first + t) * stride
          : ((first - rowStart + t) * src.width + xx) * stride;
        for (let b = 0; b < bands; b++) sums[b]! += data[p + b]! * w;
      }
      const o = (y * outW + xx) * stride;
      for (let b = 0; b < bands; b++) out[o + b] = clip8(sums[b]!);
    }
  }
}

function resamplePlane(img: Plane, outW: number, outH: number, filter: ResampleFilter): Uint8Array {
  if (!(outW > 0 && outH > 0 && Number.isInteger(outW) && Number.isInteger(outH)))
    throw new Error(`bad output size ${outW}×${outH}`);
  const f = FILTERS[filter];
  const { stride } = img;
  const needH = outW !== img.width;
  const needV = outH !== img.height;
  const vert = precompute(img.height, outH, f);
  let src: Plane = img;
  let rowOffset = 0;
  if (needH) {
    // only the rows the vertical pass reads
    const first = needV ? vert.bounds[0]! : 0;
    const last = needV ? vert.bounds[outH * 2 - 2]! + vert.bounds[outH * 2 - 1]! : img.height;
    const tmp = new Uint8Array(outW * (last - first) * stride);
    pass(img, last - first, first, tmp, outW, precompute(img.width, outW, f), true);
    src = { width: outW, height: last - first, data: tmp, stride, bands: img.bands };
    rowOffset = first;
  }
  if (!needV) return src === img ? Uint8Array.from(img.data) : (src.data as Uint8Array);
  const out = new Uint8Array(outW * outH * stride);
  pass(src, outH, rowOffset, out, outW, vert, false);
  return out;
}

/** Resizes the RGB of an RGBA image (alpha set to 255, as PIL's convert('RGB') drops it). */
export function resizePil(img: RgbaImage, outW: number, outH: number, filter: ResampleFilter): RgbaImage {
  const out = resamplePlane(
    { width: img.width, height: img.height, data: img.data, stride: 4, bands: 3 },
    outW,
    outH,
    filter,
  );
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return { width: outW, height: outH, data: new Uint8ClampedArray(out.buffer) };
}

/**
 * Resizes an RGBA image as Pillow resizes mode "RGBA": premultiplied by alpha (Pillow's RGBa,
 * a·α/255 rounded), all four bands resampled, then divided back (unchanged where α is 0 or 255).
 * Transparent pixels then add nothing to their neighbours, whatever colour they hold.
 */
export function resizePilRgba(img: RgbaImage, outW: number, outH: number, filter: ResampleFilter): RgbaImage {
  const n = img.width * img.height;
  const pre = new Uint8Array(n * 4);
  const d = img.data;
  for (let i = 0; i < n * 4; i += 4) {
    const a = d[i + 3]!;
    for (let b = 0; b < 3; b++) {
      const t = d[i + b]! * a + 128;
      pre[i + b] = ((t >> 8) + t) >> 8;
    }
    pre[i + 3] = a;
  }
  const out = resamplePlane(
    { width: img.width, height: img.height, data: pre, stride: 4, bands: 4 },
    outW,
    outH,
    filter,
  );
  for (let i = 0; i < out.length; i += 4) {
    const a = out[i + 3]!;
    if (a === 0 || a === 255) continue;
    for (let b = 0; b < 3; b++) out[i + b] = Math.min(255, Math.trunc((255 * out[i + b]!) / a));
  }
  return { width: outW, height: outH, data: new Uint8ClampedArray(out.buffer) };
}

/** Resizes a single-channel 8-bit image ([h·w], Pillow mode "L"). @returns [outH·outW] */
export function resizePilGray(
  data: Uint8Array,
  width: number,
  height: number,
  outW: number,
  outH: number,
  filter: ResampleFilter,
): Uint8Array {
  if (data.length !== width * height)
    throw new Error(`resizePilGray: ${data.length} bytes for ${width}×${height}`);
  return resamplePlane({ width, height, data, stride: 1, bands: 1 }, outW, outH, filter);
}

/** Pillow's BILINEAR resize (what torchvision's Resize does to a PIL image). */
export function resizePilBilinear(img: RgbaImage, outW: number, outH: number): RgbaImage {
  return resizePil(img, outW, outH, 'bilinear');
}
