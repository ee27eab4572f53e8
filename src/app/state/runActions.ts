/** Running an edit (streaming its steps), cancelling it, scrubbing its steps, per-word maps. */
import { EngineError } from '../../protocol/engineClient';
import { toAppError } from '../lib/errors';
import * as H from '../lib/history';
import { bitmapOf, rememberBitmap } from '../media/imageCache';
import { maskPayload } from '../media/brushMask';
import { bitmapOfPayload, encodePng, rgbaOf, thumbnail } from '../media/pixels';
import { missingForRun } from '../lib/derive';
import { toFrame } from '../lib/frames';
import { splitWords } from '../lib/words';
import { maskProblem } from '../lib/mask';
import { newEntry, pushEntry } from './imageActions';
import type { GetState, SetState, StoreDeps } from './store';
import type { ImageRef, RunState } from '../lib/types';

export function runActions(set: SetState, get: GetState, deps: StoreDeps) {
  let controller: AbortController | null = null;

  const patchRun = (patch: Partial<RunState>) => {
    const run = get().run;
    if (run) set({ run: { ...run, ...patch } });
  };

  const loadPercent = () => {
    const l = get().load;
    return l && l.totalBytes > 0 ? (100 * l.totalLoaded) / l.totalBytes : null;
  };

  const actions = {
    async run(): Promise<void> {
      const s = get();
      if (s.run?.status === 'running') return;
      // Run right after choosing a file means this file: wait for it rather than refuse or use the old one.
      if (s.openingImage) {
        set({
          runQueued: true,
          notice: 'The image is still opening: the edit starts as soon as it is open.',
        });
        return;
      }
      const missing = missingForRun({ ...s, loadPercent: loadPercent() });
      if (missing) {
        set({ error: { source: 'input', code: 'missing', message: missing } });
        return;
      }
      const entry = H.current(s.history)!;
      const input = entry.input;
      const mask = s.settings.brush.enabled ? maskPayload(input.id, input.width, input.height) : undefined;
      const maskIssue = s.model ? maskProblem(s.settings.brush.enabled, mask, s.model.tokenGrid) : null;
      if (maskIssue) {
        set({ error: { source: 'input', code: 'missing', message: maskIssue } });
        return;
      }
      const instruction = s.instruction.trim();
      const settings = s.settings.edit;
      const started = performance.now();
      set({
        error: null,
        notice: null,
        scrub: null,
        word: null,
        view: 'edit',
        run: {
          status: 'running',
          instruction,
          settings,
          inputId: input.id,
          entryId: null,
          frames: [],
          startedAt: started,
          ms: null,
          warnings: [],
        },
      });
      const ctrl = new AbortController();
      controller = ctrl;
      try {
        const image = rgbaOf(await bitmapOf(input));
        const result = await deps.client.edit(
          { image, instruction, settings, mask },
          {
            onStep: (p) => {
              const run = get().run;
              if (run?.status === 'running') patchRun({ frames: [...run.frames, toFrame(p)] });
            },
            onWarning: (m) => patchRun({ warnings: [...(get().run?.warnings ?? []), m] }),
          },
          ctrl.signal,
        );
        const bitmap = await bitmapOfPayload(result.image);
        const ref: ImageRef = {
          id: crypto.randomUUID(),
          name: `${input.name.replace(/\.[^.]+$/, '')}-edited.png`,
          width: bitmap.width,
          height: bitmap.height,
          blob: await encodePng(bitmap),
        };
        rememberBitmap(ref, bitmap);
        const done = newEntry({
          kind: 'edit',
          label: instruction,
          input,
          result: ref,
          instruction,
          settings,
          thumb: await thumbnail(bitmap),
        });
        // The worker streams each warning and repeats it in the result: say each once.
        const warnings = [...new Set([...(get().run?.warnings ?? []), ...result.warnings])];
        // The edit belongs after the entry it started from, even if the person moved meanwhile.
        const base = get().history;
        const from = base.entries.findIndex((e) => e.id === entry.id);
        const { history, dropped } = pushEntry(from >= 0 ? H.jumpTo(base, from) : base, done);
        const news = [...warnings, ...(dropped ? [dropped] : [])];
        set({ history, notice: news.length ? news.join(' ') : null });
        patchRun({ status: 'done', entryId: done.id, ms: result.ms, warnings });
      } catch (e) {
        const frames = get().run?.frames ?? [];
        if (e instanceof EngineError && e.code === 'cancelled') {
          patchRun({ status: 'cancelled' });
          const at = frames.length ? ` at step ${frames.length}/${frames[frames.length - 1].steps}` : '';
          set({ notice: `Edit cancelled${at}. The image is unchanged.` });
        } else {
          patchRun({ status: 'failed' });
          set({ error: toAppError('edit', e) });
          // The worker dropped its sessions (lost device) or was stopped (stalled): bring the model back for the next run.
          if (e instanceof EngineError && (e.code === 'device-lost' || e.code === 'stalled'))
            void get().actions.loadModel();
        }
      } finally {
        if (controller === ctrl) controller = null;
      }
    },

    cancel(): void {
      controller?.abort();
    },

    /** Shows a past step (null: follow the latest). */
    scrubTo(index: number | null): void {
      set({ scrub: index });
      const word = get().word;
      if (word) void actions.selectWord(word.index);
    },

    /** Shows where one word of the instruction attends, at the shown step; null clears. */
    async selectWord(index: number | null): Promise<void> {
      const { run, scrub } = get();
      if (index === null || !run || run.frames.length === 0) {
        set({ word: null });
        return;
      }
      const word = splitWords(run.instruction)[index];
      if (!word) {
        set({ word: null });
        return;
      }
      // The worker keeps the last edit's steps in order; ask by position in that list, and name
      // the word by its characters in the instruction the run used.
      const step = Math.min(scrub ?? run.frames.length - 1, run.frames.length - 1);
      set({ word: { index, step, map: null } });
      try {
        const { attention } = await deps.client.wordMap(step, word.from, word.to);
        const w = get().word;
        if (w?.index === index && w.step === step) set({ word: { ...w, map: attention } });
      } catch (e) {
        // The main map still works; say why the word's map is missing without failing the page.
        set({ word: null, notice: `No map for that word: ${toAppError('edit', e).message}` });
      }
    },
  };
  return actions;
}
