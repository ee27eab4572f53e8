/**
 * Attention maps as pictures: a perceptual colour map, and the outline of a binary cell mask.
 * Pure: arrays in, new arrays out.
 */

/** Stops of the "inferno" colour map (matplotlib), evenly spaced over [0, 1]. */
const INFERNO: readonly [number, number, number][] = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];

/** RGB of value v ∈ [0, 1] (clamped), linearly interpolated between the stops. */
export function colourAt(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(t));
  const f = t - i;
  const a = INFERNO[i];
  const b = INFERNO[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/** CSS gradient for the legend, matching `colourAt`. */
export const LEGEND_GRADIENT = `linear-gradient(to right, ${INFERNO.map(([r, g, b]) => `rgb(${r} ${g} ${b})`).join(', ')})`;

/**
 * @param map [rows·cols] values in [0, 1]
 * @returns RGBA8 [rows·cols·4]; alpha 255
 */
export function heatmapRgba(map: Float32Array): Uint8ClampedArray {
  const out = new Uint8ClampedArray(map.length * 4);
  for (let i = 0; i < map.length; i++) {
    const [r, g, b] = colourAt(map[i]);
    out[i * 4] = r;
    out[i * 4 + 1] = g;
    out[i * 4 + 2] = b;
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** Min-max rescale to [0, 1] (a flat map becomes all zeros). Per-word maps arrive unscaled. */
export function normalise(map: Float32Array): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo;
  return map.map((v) => (span > 0 ? (v - lo) / span : 0));
}

/** Cells whose attention is below λ: the region that region-hold keeps from the source. */
export function heldCells(attention: Float32Array, lambda: number): Uint8Array {
  const out = new Uint8Array(attention.length);
  if (!(lambda > 0)) return out;
  for (let i = 0; i < attention.length; i++) out[i] = attention[i] < lambda ? 1 : 0;
  return out;
}

/** A segment [x0, y0, x1, y1] in cell units (0..cols, 0..rows). */
export type Segment = [number, number, number, number];

/**
 * The boundary of the set cells of a binary mask: every cell edge with a set cell on one side and
 * an unset cell (or the border) on the other.
 */
export function maskOutline(mask: Uint8Array, rows: number, cols: number): Segment[] {
  if (mask.length !== rows * cols)
    throw new Error(`maskOutline: ${mask.length} cells for a ${rows}×${cols} grid`);
  const on = (r: number, c: number) => r >= 0 && r < rows && c >= 0 && c < cols && mask[r * cols + c] !== 0;
  const segments: Segment[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (!on(r, c)) continue;
      if (!on(r - 1, c)) segments.push([c, r, c + 1, r]);
      if (!on(r + 1, c)) segments.push([c, r + 1, c + 1, r + 1]);
      if (!on(r, c - 1)) segments.push([c, r, c, r + 1]);
      if (!on(r, c + 1)) segments.push([c + 1, r, c + 1, r + 1]);
    }
  }
  return segments;
}
