/**
 * Pillow's BILINEAR resize (what torchvision's Resize does to a PIL image): a triangle filter
 * whose support widens with the downscale factor (so it antialiases like an area filter),
 * separable, horizontal pass first, 8-bit fixed point with 22 fractional bits, rounding and
 * clipping to uint8 after each pass. Reproducing it bit for bit keeps the engine's model input
 * identical to the Python reference's.
 */
import type { RgbaImage } from './image';

const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;

interface Coeffs {
  readonly ksize: number;
  readonly bounds: Int32Array; // [out·2] (first input index, tap count)
  readonly k: Int32Array; // [out·ksize] fixed-point weights
}

function triangle(x: number): number {
  const a = x < 0 ? -x : x;
  return a < 1 ? 1 - a : 0;
}

function precompute(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const k = new Int32Array(outSize * ksize);
  const pre = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = triangle((x + xmin - center + 0.5) * ss);
      pre[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? pre[x]! / ww : 0;
      k[xx * ksize + x] = Math.trunc(v < 0 ? -0.5 + v * ONE : 0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, k };
}

function clip8(ss: number): number {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Resizes RGB (alpha set to 255, as PIL's convert('RGB') drops it). */
export function resizePilBilinear(img: RgbaImage, outW: number, outH: number): RgbaImage {
  const { width: inW, height: inH, data } = img;
  if (!(outW > 0 && outH > 0)) throw new Error(`bad output size ${outW}×${outH}`);
  let src: Uint8Array | Uint8ClampedArray = data;
  let srcW = inW;
  let rowOffset = 0;
  const vert = precompute(inH, outH);
  const needH = outW !== inW;
  const needV = outH !== inH;
  if (needH) {
    const hor = precompute(inW, outW);
    const first = vert.bounds[0]!;
    const last = vert.bounds[outH * 2 - 2]! + vert.bounds[outH * 2 - 1]!;
    const rows = needV ? last - first : inH;
    const start = needV ? first : 0;
    const tmp = new Uint8Array(outW * rows * 4);
    for (let y = 0; y < rows; y++) {
      const inRow = (y + start) * inW * 4;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = hor.bounds[xx * 2]!;
        const n = hor.bounds[xx * 2 + 1]!;
        const kb = xx * hor.ksize;
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0; x < n; x++) {
          const w = hor.k[kb + x]!;
          const p = inRow + (xmin + x) * 4;
          s0 += src[p]! * w;
          s1 += src[p + 1]! * w;
          s2 += src[p + 2]! * w;
        }
        const o = (y * outW + xx) * 4;
        tmp[o] = clip8(s0);
        tmp[o + 1] = clip8(s1);
        tmp[o + 2] = clip8(s2);
        tmp[o + 3] = 255;
      }
    }
    src = tmp;
    srcW = outW;
    rowOffset = start;
  }
  if (!needV) {
    const out = new Uint8ClampedArray(outW * outH * 4);
    if (needH) out.set(src);
    else for (let i = 0; i < out.length; i++) out[i] = (i & 3) === 3 ? 255 : src[i]!;
    return { width: outW, height: outH, data: out };
  }
  const out = new Uint8ClampedArray(outW * outH * 4);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = vert.bounds[yy * 2]! - rowOffset;
    const n = vert.bounds[yy * 2 + 1]!;
    const kb = yy * vert.ksize;
    for (let x = 0; x < outW; x++) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let y = 0; y < n; y++) {
        const w = vert.k[kb + y]!;
        const p = ((ymin + y) * srcW + x) * 4;
        s0 += src[p]! * w;
        s1 += src[p + 1]! * w;
        s2 += src[p + 2]! * w;
      }
      const o = (yy * outW + x) * 4;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
      out[o + 3] = 255;
    }
  }
  return { width: outW, height: outH, data: out };
}
