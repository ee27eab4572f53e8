/** Run progress as text: the step counter, the fraction done, and an ETA from per-step times. */

export function stepCounterText(step: number, steps: number): string {
  return `${step}/${steps}`;
}

/**
 * Estimated milliseconds left, from the mean time of the steps so far.
 * @param elapsedMs time since the run began, at the last finished step
 */
export function etaMs(step: number, steps: number, elapsedMs: number): number | null {
  if (step <= 0 || steps <= 0 || step > steps) return null;
  return ((steps - step) * elapsedMs) / step;
}

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(bytes) / Math.log(1000)));
  const v = bytes / 1000 ** i;
  return `${v.toFixed(i === 0 || v >= 100 ? 0 : 1)} ${units[i]}`;
}
