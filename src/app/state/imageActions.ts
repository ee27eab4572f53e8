/** Opening images, chaining a result as the next input, and moving through history. */
import { toAppError } from '../lib/errors';
import * as H from '../lib/history';
import { ImageInputError, openImageFile } from '../media/decode';
import { bitmapOf, rememberBitmap } from '../media/imageCache';
import { thumbnail } from '../media/pixels';
import type { GetState, SetState, StoreDeps } from './store';
import type { HistoryEntry, ImageRef } from '../lib/types';

/** History bounds: the oldest entries go first; the current one is never evicted. */
export const HISTORY_LIMITS: H.HistoryLimits<HistoryEntry> = {
  maxEntries: 24,
  maxBytes: 400 * 1024 * 1024,
  bytesOf(entries) {
    const seen = new Map<string, number>();
    for (const e of entries) for (const img of [e.input, e.result]) if (img) seen.set(img.id, img.blob.size);
    let sum = 0;
    for (const v of seen.values()) sum += v;
    return sum;
  },
};

/** Adds an entry to the history; `dropped` says so when the oldest entries had to go to make room. */
export function pushEntry(
  history: H.History<HistoryEntry>,
  entry: HistoryEntry,
): { history: H.History<HistoryEntry>; dropped: string | null } {
  const next = H.push(history, entry, HISTORY_LIMITS);
  const n = H.evictedCount(history, next);
  const dropped = n
    ? `The history was full (it keeps ${HISTORY_LIMITS.maxEntries} steps and ${HISTORY_LIMITS.maxBytes / 1024 ** 2} MB of images), so its oldest ${n === 1 ? 'step was' : `${n} steps were`} dropped.`
    : null;
  return { history: next, dropped };
}

export function newEntry(fields: Omit<HistoryEntry, 'id' | 'createdAt'>): HistoryEntry {
  return { id: crypto.randomUUID(), createdAt: Date.now(), ...fields };
}

export function imageActions(set: SetState, get: GetState, _deps: StoreDeps) {
  /** Leaves the finished run's maps behind when the shown entry changes. */
  const moveTo = (history: H.History<HistoryEntry>) => {
    set({ history, scrub: null, word: null, view: 'edit', notice: null });
  };

  const actions = {
    /**
     * Opens the first image among the given files. A bad file gives a message and leaves the
     * current image as it was.
     */
    async openFiles(files: readonly (File | Blob)[]): Promise<void> {
      if (get().run?.status === 'running') {
        set({
          notice: 'An edit is running: wait for it to finish or cancel it (Esc), then add the image again.',
        });
        return;
      }
      const file = files.find((f) => f.type.startsWith('image/') || f.type === '') ?? files[0];
      if (!file) {
        set({
          error: {
            source: 'image',
            message: 'That was not a file. Drop or paste an image (PNG, JPEG, WebP, GIF, BMP or AVIF).',
          },
        });
        return;
      }
      const name = file instanceof File && file.name ? file.name : 'pasted image';
      set({ openingImage: true });
      try {
        const { ref, bitmap } = await openImageFile(file, name);
        rememberBitmap(ref, bitmap);
        const thumb = await thumbnail(bitmap);
        const entry = newEntry({
          kind: 'open',
          label: name,
          input: ref,
          result: null,
          instruction: null,
          settings: null,
          thumb,
        });
        const e = get().error;
        set({ error: e && ['image', 'input'].includes(e.source) ? null : e });
        const { history, dropped } = pushEntry(get().history, entry);
        moveTo(history);
        set({
          notice: `Opened ${name} (${ref.width}×${ref.height}).${dropped ? ` ${dropped}` : ''}`,
          openingImage: false,
        });
        if (get().runQueued) {
          set({ runQueued: false });
          void get().actions.run();
        }
      } catch (err) {
        const message = err instanceof ImageInputError ? err.message : toAppError('image', err).message;
        set({
          error: { source: 'image', code: 'bad-image', message },
          openingImage: false,
          runQueued: false,
        });
      }
    },

    /** Opens one of the model's example images, with its edit offered when nothing is typed yet. */
    async openExample(blob: Blob, name: string, instruction: string | null): Promise<void> {
      await actions.openFiles([new File([blob], name, { type: blob.type || 'image/png' })]);
      if (instruction && !get().instruction.trim() && H.current(get().history)?.input.name === name)
        set({ instruction });
    },

    /** Makes the current result the input of the next edit. */
    async chainResult(): Promise<void> {
      const entry = H.current(get().history);
      if (!entry?.result || get().run?.status === 'running') return;
      const result: ImageRef = entry.result;
      const thumb = entry.thumb || (await thumbnail(await bitmapOf(result)));
      const next = newEntry({
        kind: 'chain',
        label: `Input: ${entry.instruction ?? 'result'}`,
        input: result,
        result: null,
        instruction: null,
        settings: null,
        thumb,
      });
      const { history, dropped } = pushEntry(get().history, next);
      moveTo(history);
      if (dropped) set({ notice: dropped });
    },

    undo(): void {
      if (get().run?.status === 'running') return;
      const h = get().history;
      if (H.canUndo(h)) moveTo(H.undo(h));
    },

    redo(): void {
      if (get().run?.status === 'running') return;
      const h = get().history;
      if (H.canRedo(h)) moveTo(H.redo(h));
    },

    jumpTo(index: number): void {
      if (get().run?.status === 'running') return;
      moveTo(H.jumpTo(get().history, index));
    },
  };
  return actions;
}
