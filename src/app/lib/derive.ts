/** Facts computed from the store's state. Pure, so they can be unit-tested on plain objects. */
import { instructionProblem } from '../../engine/index';
import type { ModelInfo } from '../../protocol/messages';
import type { AppError } from './errors';
import { current, type History } from './history';
import type { EditState, HistoryEntry, RunState, StepFrame } from './types';

export type ModelStatus = 'none' | 'loading' | 'ready' | 'failed';

export interface DeriveInput {
  error: AppError | null;
  run: RunState | null;
  modelStatus: ModelStatus;
  history: History<HistoryEntry>;
  model: ModelInfo | null;
}

/** The value of <body data-edit-state>, part of the testability contract. */
export function deriveEditState(s: DeriveInput): EditState {
  if (s.error) return 'error';
  if (s.run?.status === 'running') return 'running';
  if (s.modelStatus === 'loading') return 'loading-model';
  if (current(s.history)?.result) return 'done';
  if (s.modelStatus === 'ready') return 'ready';
  return 'idle';
}

/** What is missing before an edit can run, said so the person knows what to do; null when nothing. */
export function missingForRun(
  s: DeriveInput & { instruction: string; loadPercent: number | null },
): string | null {
  const needImage = !current(s.history);
  const needModel = s.modelStatus !== 'ready' || !s.model;
  const modelText =
    s.modelStatus === 'loading'
      ? `the model is still loading${s.loadPercent !== null ? ` (${Math.round(s.loadPercent)}%)` : ''}, wait for it to finish`
      : 'no model is loaded: pick one under Model and press Load';
  if (needImage && needModel)
    return `Nothing to edit yet: add an image (drop, paste or Choose image), and ${modelText}.`;
  if (needImage) return 'Add an image first: drop one on the page, paste it, or use Choose image.';
  if (needModel) return `Can't run yet: ${modelText}.`;
  // the engine's rule (the CLI and the library refuse the same instructions, with the same words)
  const problem = instructionProblem(s.instruction);
  if (problem === null) return null;
  if (!s.instruction.trim()) return 'Type what to change first, for example “make the sky purple”.';
  return `${problem[0]!.toUpperCase()}${problem.slice(1)}: type what to change, for example “make the sky purple”.`;
}

/** The frame the stage shows: the scrubbed one, else the latest. */
export function shownFrame(run: RunState | null, scrub: number | null): StepFrame | null {
  if (!run || run.frames.length === 0) return null;
  const i = scrub === null ? run.frames.length - 1 : Math.min(Math.max(scrub, 0), run.frames.length - 1);
  return run.frames[i];
}

/** Does the last run's attention belong to what is on screen? */
export function runMatchesEntry(run: RunState | null, entry: HistoryEntry | undefined): boolean {
  if (!run) return false;
  if (run.status === 'running') return entry?.input.id === run.inputId;
  return run.entryId !== null && entry?.id === run.entryId;
}
