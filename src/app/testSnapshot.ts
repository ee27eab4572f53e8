/** The store as plain data for the test API (numbers and strings only; no buffers). */
import { deriveEditState } from './lib/derive';
import { current } from './lib/history';
import type { AppState } from './state/store';
import type { AppSnapshot } from './testApi';

export function snapshotOf(s: AppState): AppSnapshot {
  const entry = current(s.history);
  const frames = s.run?.frames ?? [];
  return {
    editState: deriveEditState(s),
    modelStatus: s.modelStatus,
    model: s.model
      ? {
          name: s.model.name,
          dtype: s.model.dtype,
          backend: s.model.backend.backend,
          resolution: s.model.resolution,
          tokenGrid: s.model.tokenGrid,
        }
      : null,
    image: entry ? { width: entry.input.width, height: entry.input.height } : null,
    result: entry?.result ? { width: entry.result.width, height: entry.result.height } : null,
    history: { length: s.history.entries.length, cursor: s.history.cursor },
    run: s.run
      ? {
          status: s.run.status,
          frames: frames.length,
          steps: frames.at(-1)?.steps ?? s.run.settings.steps,
          stepElapsedMs: frames.map((f) => f.elapsedMs),
          ms: s.run.ms,
        }
      : null,
    error: s.error ? { source: s.error.source, code: s.error.code ?? null, message: s.error.message } : null,
  };
}

/**
 * The whole store as text, for checks that a value never reaches the state: every string and
 * number of it, the actions left out, and binary data (images, buffers, files) named by its size
 * only (a File by its name and size).
 */
export function stateTextOf(s: AppState): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(s, (key, value: unknown) => {
    if (typeof value === 'function' || (key === 'actions' && value === s.actions)) return undefined;
    if (typeof value === 'bigint') return value.toString();
    if (value === null || typeof value !== 'object') return value;
    if (value instanceof File) return `[File ${value.name}, ${value.size} bytes]`;
    if (value instanceof Blob) return `[Blob, ${value.size} bytes]`;
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value))
      return `[${value.constructor.name}, ${value.byteLength} bytes]`;
    if (typeof ImageBitmap !== 'undefined' && value instanceof ImageBitmap)
      return `[ImageBitmap ${value.width}×${value.height}]`;
    if (seen.has(value)) return '[seen above]';
    seen.add(value);
    if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), v]));
    if (value instanceof Set) return [...value];
    return value;
  });
}
