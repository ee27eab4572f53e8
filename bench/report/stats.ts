/** Small pure helpers for the benchmark numbers. */

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Nearest-rank quantile (p90 of 10 values is the 9th smallest). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  if (q === 0.5 && sorted.length % 2 === 0)
    return (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function sum(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0);
}

/** Differences of consecutive values: [b−a, c−b, …]. */
export function deltas(values: readonly number[]): number[] {
  return values.slice(1).map((v, i) => v - values[i]!);
}

/**
 * Engine time outside graph runs, as a percentage of step time. `stepMs[i]` is the interval of
 * step i (i ≥ 1: the first step carries encoding and is left out by the caller), `graphMs[i]` the
 * transformer_step run inside it. Medians, not sums: on a shared machine one descheduled moment
 * between two graph runs would otherwise count as engine time for the whole edit.
 */
export function overheadPct(stepMs: readonly number[], graphMs: readonly number[]): number {
  const n = Math.min(stepMs.length, graphMs.length);
  if (n === 0) return NaN;
  const outside = stepMs.slice(0, n).map((s, i) => s - graphMs[i]!);
  const step = median(stepMs.slice(0, n));
  return step > 0 ? (100 * median(outside)) / step : NaN;
}

/** Readback of one step at another token grid: the step's outputs are 3 values per token cell
 * plus one per attention cell (docs/model-package.md), 4 bytes each. */
export function readbackAt(grid: { h: number; w: number }, attentionGrid: { h: number; w: number }): number {
  return 3 * grid.h * grid.w * 4 + attentionGrid.h * attentionGrid.w * 4;
}

/** FNV-1a hash of bytes, 8 hex digits (the final token grid's: runs that edit alike hash alike). */
export function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
