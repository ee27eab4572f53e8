/**
 * A checkpoint folder converted in the tab: what was found is offered first (the model, its size,
 * the dtype it will make, the space needed); on a yes the worker converts it into the model
 * store with progress, and the new package then loads like any other. The model in use and the
 * image stay usable throughout, and on any failure; a cancelled or failed conversion leaves
 * nothing listed. Conversions a closed tab left unfinished are offered again, to start over.
 */
import type {
  CheckpointDescriptor,
  CheckpointFound,
  ConvertProgress,
  Dtype,
  InterruptedConversion,
} from '../../protocol/messages';
import { EngineError } from '../../protocol/engineClient';
import { toAppError } from '../lib/errors';
import { formatBytes } from '../lib/progress';
import type { PickedFolder } from '../media/folderFiles';
import type { GetState, SetState, StoreDeps } from './store';

export interface ConvertState {
  /** reading the folder; waiting for the person's yes; converting */
  stage: 'inspecting' | 'offer' | 'converting';
  folder: PickedFolder;
  /** where the checkpoint is read from when not `folder`'s files (a hub repository) */
  source?: CheckpointDescriptor;
  found: CheckpointFound | null;
  dtype: Dtype | null;
  progress: ConvertProgress | null;
}

export interface ConvertData {
  convert: ConvertState | null;
  /** conversions a closed or reloaded tab left unfinished */
  interrupted: InterruptedConversion[];
}

export const initialConvertData = (): ConvertData => ({ convert: null, interrupted: [] });

/** Milliseconds left, from the share of the package's bytes written so far. */
export function convertEtaMs(p: ConvertProgress): number | null {
  if (p.totalBytes <= 0 || p.bytesWritten <= 0 || p.elapsedMs <= 0) return null;
  const share = Math.min(1, p.bytesWritten / p.totalBytes);
  return (p.elapsedMs / share) * (1 - share);
}

export function convertActions(set: SetState, get: GetState, deps: StoreDeps) {
  let running: AbortController | null = null;
  const descriptor = (folder: PickedFolder) => ({
    kind: 'files' as const,
    name: folder.name,
    files: folder.files,
  });
  const refuse = (e: unknown) => {
    const message = e instanceof EngineError ? e.message : toAppError('model', e).message;
    const kept = get().model;
    set({
      convert: null,
      error: {
        source: 'model',
        code: e instanceof EngineError ? e.code : undefined,
        message: kept
          ? `${message}${/[.!?]$/.test(message) ? '' : '.'} ${kept.name} is still loaded and ready.`
          : message,
      },
    });
  };
  const actions = {
    /** A folder without a manifest: the worker reads it as a checkpoint and says what it found. */
    async offerConversion(folder: PickedFolder, source?: CheckpointDescriptor): Promise<void> {
      if (get().convert?.stage === 'converting') {
        set({
          error: {
            source: 'model',
            message: `${get().convert!.folder.name} is still being converted: wait for it or cancel it first.`,
          },
        });
        return;
      }
      const e = get().error;
      if (e?.source === 'model') set({ error: null });
      const from = source ? { source } : {};
      set({ convert: { stage: 'inspecting', folder, ...from, found: null, dtype: null, progress: null } });
      try {
        const found = await deps.client.inspectCheckpoint(source ?? descriptor(folder));
        if (get().convert?.folder !== folder) return;
        set({ convert: { stage: 'offer', folder, ...from, found, dtype: found.dtype, progress: null } });
      } catch (err) {
        if (get().convert?.folder === folder) refuse(err);
      }
    },

    chooseConvertDtype(dtype: Dtype): void {
      const c = get().convert;
      if (c?.stage === 'offer') set({ convert: { ...c, dtype } });
    },

    declineConversion(): void {
      if (get().convert?.stage !== 'converting') set({ convert: null });
    },

    /** The yes: converts into the model store, then loads the new package (saved as the choice once it loads). */
    async acceptConversion(): Promise<void> {
      const c = get().convert;
      if (c?.stage !== 'offer' || !c.dtype || !c.found) return;
      const { folder, dtype } = c;
      const controller = new AbortController();
      running = controller;
      set({ convert: { ...c, stage: 'converting', progress: null }, notice: null });
      const started = performance.now();
      let converted: { baseUrl: string; name: string };
      try {
        converted = await deps.client.convertCheckpoint(
          c.source ?? descriptor(folder),
          dtype,
          (progress) => {
            const now = get().convert;
            if (now?.folder === folder) set({ convert: { ...now, progress } });
          },
          controller.signal,
        );
      } catch (err) {
        if (controller.signal.aborted) return;
        refuse(err);
        return;
      } finally {
        if (running === controller) running = null;
      }
      const bytes = get().convert?.progress?.totalBytes ?? 0;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      // an unfinished conversion of the same folder is superseded by this one
      for (const old of get().interrupted.filter((i) => i.name === converted.name))
        await deps.client.discardConversion(old.job).catch(() => undefined);
      set({
        convert: null,
        interrupted: get().interrupted.filter((i) => i.name !== converted.name),
        notice: `Converted ${converted.name} to ${dtype} (${formatBytes(bytes)}) in this tab in ${seconds} s.`,
      });
      void get().actions.refreshCache();
      await get().actions.loadModel(converted.baseUrl);
    },

    /** Stops the conversion; the worker removes everything it wrote. */
    cancelConversion(): void {
      const c = get().convert;
      if (c?.stage !== 'converting') return;
      running?.abort();
      running = null;
      set({
        convert: null,
        notice: `Conversion of ${c.folder.name} cancelled; nothing of it was kept.`,
      });
    },

    /** Asks the worker for conversions a closed tab left unfinished. */
    async checkInterruptedConversions(): Promise<void> {
      const found = await deps.client.interruptedConversions().catch(() => []);
      set({ interrupted: found });
    },

    async discardInterrupted(job: string): Promise<void> {
      await deps.client.discardConversion(job).catch(() => undefined);
      set({ interrupted: get().interrupted.filter((i) => i.job !== job) });
    },
  };
  return actions;
}
