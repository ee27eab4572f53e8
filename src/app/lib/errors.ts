/**
 * Every failure the person can meet, as a message that says what happened and what to do.
 * Pure: an error code (or a thrown value) in, text out.
 */
import type { ErrorCode } from '../../protocol/messages';
import { EngineError } from '../../protocol/engineClient';

export interface AppError {
  /** Where it came from, for tests and for the retry the message suggests. */
  source: 'model' | 'image' | 'edit' | 'backend' | 'cache' | 'app' | 'input';
  code?: ErrorCode | 'missing';
  message: string;
}

const trimDot = (s: string) => s.trim().replace(/[.\s]+$/, '');

/** Turns an engine error code and its detail into a message for a person. */
export function describeEngineError(
  code: ErrorCode,
  detail: string,
  context: { modelUrl?: string } = {},
): string {
  const d = trimDot(detail || 'no details');
  switch (code) {
    case 'model-unavailable':
      return `The model could not be downloaded${context.modelUrl ? ` from ${context.modelUrl}` : ''} (${d}). Check the address and your connection, then press Load again.`;
    case 'model-invalid':
      return `That model package is not usable (${d}). Pick another model under Model.`;
    case 'backend-unavailable':
      return `The chosen backend is not available here (${d}). Set Backend to WASM or Auto in Settings.`;
    case 'bad-image':
      return `The engine could not use this image (${d}). Try another image.`;
    case 'graph-failed':
      return `The model failed while running (${d}). Run again; if it keeps failing, switch the backend to WASM or the precision to fp32.`;
    case 'device-lost':
      return `The GPU stopped responding (${d}). That happens when it runs out of memory or its driver resets. Your image is unchanged and the model reopens by itself. If it keeps happening, close other GPU-heavy tabs or apps, or set Backend to WASM in Settings.`;
    case 'stalled':
      return `The engine stopped responding (${d}) and was restarted. Your image and history are unchanged. Try again; if it stalls again, reload the page or set another backend in Settings.`;
    case 'version-mismatch':
      return `This page and its engine come from different versions of the app, as after an update (${d}). Reload the page to use one version.`;
    case 'cancelled':
      return 'The edit was cancelled.';
    case 'bad-request':
      return `The engine could not run this edit (${d}). Change what it names and run again.`;
    case 'internal':
      return `Something went wrong in the engine (${d}). Try again; reload the page if it keeps happening.`;
  }
}

/** Any thrown value as an AppError; engine errors keep their code. */
export function toAppError(
  source: AppError['source'],
  err: unknown,
  context: { modelUrl?: string } = {},
): AppError {
  if (err instanceof EngineError)
    return { source, code: err.code, message: describeEngineError(err.code, err.message, context) };
  const detail = err instanceof Error ? err.message : String(err);
  return {
    source,
    message: `Something went wrong (${trimDot(detail)}). Try again; reload the page if it keeps happening.`,
  };
}
