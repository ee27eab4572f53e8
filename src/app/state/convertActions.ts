/**
 * A checkpoint folder converted in the tab: what was found is offered first (the model, its size,
 * the dtype it will make, the space needed); on a yes the worker converts it into the model
 * store with progress, and the new package then loads like any other. The model in use and the
 * image stay usable throughout, and on any failure; a cancelled or failed conversion leaves
 * nothing listed. Conversions a closed tab left unfinished are offered again, to start over.
 *
 * A gated hub repository's token is never in the store's state: it is held here, in memory, for
 * the one conversion it was given for, goes to the worker only with that conversion's requests
 * (its offer's read and the conversion itself), and is dropped once the conversion is sent, or
 * when its offer is declined, replaced or refused.
 */
import type {
  CheckpointDescriptor,
  CheckpointFound,
  ConvertProgress,
  Dtype,
  HubAuth,
  InterruptedConversion,
} from '../../protocol/messages';
import { EngineError } from '../../protocol/engineClient';
import { toAppError } from '../lib/errors';
import { formatBytes, formatDuration } from '../lib/progress';
import type { PickedFolder } from '../media/folderFiles';
import type { GetState, SetState, StoreDeps } from './store';

/** A hub repository's checkpoint at one commit, as the state holds it (no token). */
export type HubCheckpoint = Omit<Extract<CheckpointDescriptor, { kind: 'hub' }>, 'hubAuth'>;

export interface ConvertState {
  /** reading the folder; waiting for the person's yes; converting */
  stage: 'inspecting' | 'offer' | 'converting';
  folder: PickedFolder;
  /** where the checkpoint is read from when not `folder`'s files (a hub repository) */
  source?: HubCheckpoint;
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

/** Milliseconds left of the codebook colours' decode, from the pace of its grids so far. */
export function coloursEtaMs(c: NonNullable<ConvertProgress['colours']>): number | null {
  // none before the first grid's pace is known, nor once the last is done
  if (c.gridsDone <= 0 || c.elapsedMs <= 0 || c.gridsDone >= c.gridsTotal) return null;
  return (c.elapsedMs / c.gridsDone) * Math.max(0, c.gridsTotal - c.gridsDone);
}

/** The status line of a conversion under way, in words. */
export function convertStatusText(p: ConvertProgress): string {
  if (p.phase === 'colours' && p.colours) {
    const eta = coloursEtaMs(p.colours);
    return `Computing the preview colours: ${p.colours.gridsDone} of ${p.colours.gridsTotal}${eta === null ? '' : ` (about ${formatDuration(eta)} left)`}`;
  }
  return `${formatBytes(p.bytesWritten)} of ${formatBytes(p.totalBytes)}; tensor ${p.tensorsDone} of ${p.tensorsTotal}; ${p.phase}; about ${formatDuration(convertEtaMs(p))} left`;
}

export function convertActions(set: SetState, get: GetState, deps: StoreDeps) {
  let running: AbortController | null = null;
  /** The token for the conversion of `folder` (the conversion's identity in the state); never in the state. */
  let token: { folder: PickedFolder; auth: HubAuth } | null = null;
  /** What the worker is sent for `c`: its folder's files, or its hub repository with the token held for it. */
  const descriptor = (c: Pick<ConvertState, 'folder' | 'source'>): CheckpointDescriptor => {
    if (!c.source) return { kind: 'files', name: c.folder.name, files: c.folder.files };
    const auth = token?.folder === c.folder ? token.auth : null;
    return auth ? { ...c.source, hubAuth: auth } : { ...c.source };
  };
  const refuse = (e: unknown) => {
    token = null;
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
    /**
     * A folder without a manifest, or a hub repository's checkpoint (`source`, with `hubAuth` for a
     * gated one: held for this conversion only): the worker reads it and says what it found.
     */
    async offerConversion(folder: PickedFolder, source?: HubCheckpoint, hubAuth?: HubAuth): Promise<void> {
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
      // only the repository's place is kept in the state, whatever else the object given carries
      const from = source
        ? {
            source: {
              kind: source.kind,
              name: source.name,
              repo: source.repo,
              commit: source.commit,
              endpoint: source.endpoint,
            },
          }
        : {};
      token = source && hubAuth ? { folder, auth: hubAuth } : null;
      set({ convert: { stage: 'inspecting', folder, ...from, found: null, dtype: null, progress: null } });
      try {
        const found = await deps.client.inspectCheckpoint(descriptor({ folder, ...from }));
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
      if (get().convert?.stage === 'converting') return;
      token = null;
      set({ convert: null });
    },

    /** The yes: converts into the model store, then loads the new package (saved as the choice once it loads). */
    async acceptConversion(): Promise<void> {
      const c = get().convert;
      if (c?.stage !== 'offer' || !c.dtype || !c.found) return;
      const { folder, dtype } = c;
      const controller = new AbortController();
      running = controller;
      // the token goes with this request (the worker holds it while it reads) and is dropped here
      const request = descriptor(c);
      token = null;
      set({ convert: { ...c, stage: 'converting', progress: null }, notice: null });
      const started = performance.now();
      let converted: { baseUrl: string; name: string };
      try {
        converted = await deps.client.convertCheckpoint(
          request,
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
