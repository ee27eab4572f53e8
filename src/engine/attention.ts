/**
 * Consolidated-attention post-processing, as the reference does between the transformer and
 * region-hold: min-max rescale, adaptive smoothing (scipy gaussian_filter σ = 1.5 + 5×5 local
 * variance, reflect borders), 90th-percentile peak preservation, range restore, then bicubic
 * upsample to the token grid (PyTorch F.interpolate, align_corners=False, A = −0.75).
 * float32 rounding is applied where numpy/torch store float32, so thresholds like λ compare
 * the same values as the reference. Pure functions; inputs are never mutated.
 */
import { f32 } from './float32';

const EPS_1E8 = f32(1e-8);

/** (s − min) / (max − min + 1e−8) over one map. @param scores [n] @returns Float32Array [n] */
export function rescaleScores(scores: Float32Array): Float32Array {
  const [lo, hi] = minMax(scores);
  const denom = f32(f32(hi - lo) + EPS_1E8);
  const out = new Float32Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = f32(f32(scores[i]! - lo) / denom);
  return out;
}

/** scipy.ndimage 'reflect' (half-sample symmetric: d c b a | a b c d | d c b a) index. */
export function reflectIndex(i: number, n: number): number {
  if (n <= 1) return 0;
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

/** scipy's Gaussian kernel: radius int(4σ + 0.5), exp(−x²/2σ²) normalised, float64. */
export function gaussianKernel1d(sigma: number): Float64Array {
  const radius = Math.floor(4 * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let x = -radius; x <= radius; x++) {
    const v = Math.exp((-0.5 / (sigma * sigma)) * x * x);
    k[x + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / sum;
  return k;
}

/**
 * scipy.ndimage.gaussian_filter(x, σ, mode='reflect') on a float32 [rows, cols] map:
 * axis 0 then axis 1, float64 sums, float32 storage between passes.
 * @returns Float32Array [rows·cols]
 */
export function gaussianFilter2d(x: Float32Array, rows: number, cols: number, sigma: number): Float32Array {
  const k = gaussianKernel1d(sigma);
  const r = (k.length - 1) / 2;
  const pass = (src: Float32Array, alongRows: boolean): Float32Array => {
    const out = new Float32Array(src.length);
    const len = alongRows ? rows : cols;
    for (let a = 0; a < rows; a++) {
      for (let b = 0; b < cols; b++) {
        const pos = alongRows ? a : b;
        const at = (p: number): number =>
          alongRows ? src[reflectIndex(p, len) * cols + b]! : src[a * cols + reflectIndex(p, len)]!;
        // scipy's symmetric-kernel loop order: centre, then pairs from the outside in
        let acc = at(pos) * k[r]!;
        for (let j = r; j >= 1; j--) acc += (at(pos - j) + at(pos + j)) * k[r - j]!;
        out[a * cols + b] = acc;
      }
    }
    return out;
  };
  return pass(pass(x, true), false);
}

/**
 * scipy.ndimage.generic_filter(x, np.var, size) with reflect borders: population variance
 * of each size×size window (float64), stored float32. @returns Float32Array [rows·cols]
 */
export function localVariance(x: Float32Array, rows: number, cols: number, size = 5): Float32Array {
  const before = Math.floor(size / 2);
  const out = new Float32Array(x.length);
  const win = new Float64Array(size * size);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let n = 0;
      let sum = 0;
      for (let di = 0; di < size; di++) {
        const ri = reflectIndex(i - before + di, rows);
        for (let dj = 0; dj < size; dj++) {
          const v = x[ri * cols + reflectIndex(j - before + dj, cols)]!;
          win[n++] = v;
          sum += v;
        }
      }
      const mean = sum / n;
      let ss = 0;
      for (let t = 0; t < n; t++) ss += (win[t]! - mean) * (win[t]! - mean);
      out[i * cols + j] = ss / n;
    }
  }
  return out;
}

/** numpy.percentile(x, q) with the default 'linear' method, rounded to float32. */
export function percentile(x: Float32Array, q: number): number {
  const sorted = Float64Array.from(x).sort();
  const n = sorted.length;
  if (n === 0) throw new Error('percentile of an empty array');
  const virtual = (q / 100) * (n - 1);
  const lo = Math.floor(virtual);
  const hi = Math.min(lo + 1, n - 1);
  const t = virtual - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const diff = b - a;
  // numpy's _lerp: from below for t < 0.5, from above otherwise
  return f32(t >= 0.5 ? b - diff * (1 - t) : a + diff * t);
}

export interface SmoothOptions {
  /** reference strength 1.0: σ = 1.5·strength */
  readonly strength?: number;
  readonly preservePeaks?: boolean;
}

/**
 * The reference's adaptive smoothing of a [rows, cols] score map (method 'adaptive').
 * @returns Float32Array [rows·cols]
 */
export function smoothScoresAdaptive(
  scores: Float32Array,
  rows: number,
  cols: number,
  { strength = 1, preservePeaks = true }: SmoothOptions = {},
): Float32Array {
  const n = rows * cols;
  if (scores.length !== n)
    throw new Error(`smoothScoresAdaptive: ${scores.length} values for ${rows}×${cols}`);
  const gauss = gaussianFilter2d(scores, rows, cols, strength * 1.5);
  const variance = localVariance(scores, rows, cols, 5);
  const [vlo, vhi] = minMax(variance);
  const vden = f32(f32(vhi - vlo) + EPS_1E8);
  const c07 = f32(0.7);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = f32(f32(variance[i]! - vlo) / vden);
    const w = f32(1 - f32(v * c07));
    out[i] = f32(f32(w * gauss[i]!) + f32(f32(1 - w) * scores[i]!));
  }
  if (preservePeaks) {
    const threshold = percentile(scores, 90);
    const alpha = f32(0.7);
    const beta = f32(1 - 0.7);
    for (let i = 0; i < n; i++) {
      if (scores[i]! > threshold) out[i] = f32(f32(alpha * scores[i]!) + f32(beta * out[i]!));
    }
  }
  const [slo, shi] = minMax(out);
  if (shi > slo) {
    const [olo, ohi] = minMax(scores);
    const span = f32(shi - slo);
    const orange = f32(ohi - olo);
    for (let i = 0; i < n; i++) {
      const unit = f32(f32(out[i]! - slo) / span);
      out[i] = f32(f32(unit * orange) + olo);
    }
  }
  return out;
}

/** PyTorch's cubic convolution weights for fractional offset t (A = −0.75), float32. */
export function cubicWeights(t: number, A = -0.75): [number, number, number, number] {
  const conv1 = (x: number): number => f32(f32(f32(f32(f32((A + 2) * x) - (A + 3)) * x) * x) + 1);
  const conv2 = (x: number): number => f32(f32(f32(f32(f32(f32(A * x) - 5 * A) * x) + 8 * A) * x) - 4 * A);
  const x2 = f32(1 - t);
  return [conv2(f32(t + 1)), conv1(t), conv1(x2), conv2(f32(x2 + 1))];
}

interface AxisTaps {
  readonly index: Int32Array; // [out·4]
  readonly weight: Float32Array; // [out·4]
}

function cubicTaps(inSize: number, outSize: number): AxisTaps {
  const scale = f32(inSize / outSize);
  const index = new Int32Array(outSize * 4);
  const weight = new Float32Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const src = f32(f32(scale * f32(o + 0.5)) - 0.5);
    const base = Math.floor(src);
    const w = cubicWeights(f32(src - base));
    for (let j = 0; j < 4; j++) {
      index[o * 4 + j] = Math.max(0, Math.min(inSize - 1, base - 1 + j));
      weight[o * 4 + j] = w[j]!;
    }
  }
  return { index, weight };
}

/**
 * F.interpolate(x[1,1,inH,inW], size=(outH,outW), mode='bicubic', align_corners=False):
 * borders clamped, float32 accumulation in PyTorch's order (rows of taps, then columns).
 * @returns Float32Array [outH·outW]
 */
export function upsampleBicubic(
  x: Float32Array,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float32Array {
  if (x.length !== inH * inW) throw new Error(`upsampleBicubic: ${x.length} values for ${inH}×${inW}`);
  const ty = cubicTaps(inH, outH);
  const tx = cubicTaps(inW, outW);
  const out = new Float32Array(outH * outW);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      let acc = 0;
      for (let j = 0; j < 4; j++) {
        const row = ty.index[oy * 4 + j]! * inW;
        let inner = 0;
        for (let i = 0; i < 4; i++) {
          const term = f32(x[row + tx.index[ox * 4 + i]!]! * tx.weight[ox * 4 + i]!);
          inner = i === 0 ? term : f32(inner + term);
        }
        const term = f32(inner * ty.weight[oy * 4 + j]!);
        acc = j === 0 ? term : f32(acc + term);
      }
      out[oy * outW + ox] = acc;
    }
  }
  return out;
}

export interface AttentionMaps {
  /** [gh·gw] smoothed scores on the attention grid */
  readonly grid: Float32Array;
  /** [h·w] smoothed scores on the token grid (what region-hold compares with λ) */
  readonly tokens: Float32Array;
}

/**
 * From the graph's consolidated attention [gh·gw] to the scores region-hold uses:
 * rescale → adaptive smoothing → bicubic upsample when the grids differ.
 */
export function processAttention(
  raw: Float32Array,
  gh: number,
  gw: number,
  h: number,
  w: number,
): AttentionMaps {
  const grid = smoothScoresAdaptive(rescaleScores(raw), gh, gw);
  const tokens = gh === h && gw === w ? grid : upsampleBicubic(grid, gh, gw, h, w);
  return { grid, tokens };
}

function minMax(x: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
