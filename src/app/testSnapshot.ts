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
