/** Starting up, loading models, switching backend/precision, the model cache, settings. */
import type { BackendChoice, EditSettings, HubAuth } from '../../protocol/messages';
import { toAppError, type AppError } from '../lib/errors';
import { checkModelUrl } from '../lib/modelUrl';
import { sanitizeEditSettings, sanitizeSettings, type AppSettings, type DtypeChoice } from '../lib/settings';
import { EngineError } from '../../protocol/engineClient';
import type { PackageLoadProgress } from '../../protocol/engineClient';
import { MAX_FOLDER_FILES } from '../../protocol/localPackage';
import type { PickedFolder } from '../media/folderFiles';
import { formatBytes } from '../lib/progress';
import type { GetState, LoadState, SetState, StoreDeps } from './store';

export function loadProgressOf(load: LoadState, p: PackageLoadProgress): LoadState {
  return {
    ...load,
    files: { ...load.files, [p.file]: { loaded: p.loaded, total: p.total } },
    totalLoaded: p.totalLoaded,
    totalBytes: p.totalBytes,
  };
}

export function engineActions(set: SetState, get: GetState, deps: StoreDeps) {
  let started = false;
  let loading: AbortController | null = null;

  const clearErrorsFrom = (...sources: string[]) => {
    const e = get().error;
    if (e && sources.includes(e.source)) set({ error: null });
  };

  /**
   * The model a backend or precision change reopens: the one being loaded (a link still on its
   * way at startup), else the one in use, else the saved choice.
   */
  const modelInHand = (): string | undefined => get().load?.baseUrl ?? get().model?.baseUrl;

  const actions = {
    /** Reads saved state, picks the backend and loads the model. Safe to call twice. */
    async start(): Promise<void> {
      if (started) return;
      started = true;
      const saved = await deps.db.load();
      const stored = sanitizeSettings(saved.settings, get().settings);
      const linked = deps.linkedModelUrl ? checkModelUrl(deps.linkedModelUrl, location.href) : null;
      // A package on another site is only offered (host and size first); the chosen model loads meanwhile.
      // A link that may load at once is saved as the choice only once it has loaded.
      const useLink = linked?.ok && (!linked.foreignHost || linked.url === stored.modelUrl);
      set({ settings: stored, history: saved.history, hydrated: true });
      if (linked && !linked.ok)
        set({
          error: { source: 'app', message: `The link names a model that is not loaded: ${linked.message}` },
        });
      else if (linked?.ok && !useLink && linked.foreignHost)
        get().actions.offerForeignModel(linked.url, linked.foreignHost);
      await get().actions.openFirstModel(useLink ? linked.url : null);
    },

    /**
     * (Re)starts the engine on the chosen backend and loads a model package (the saved choice,
     * or `url`) with its download progress. The model in use stays loaded until the new one is
     * ready; the new one becomes the saved choice only once it has loaded. A failed or cancelled
     * load leaves the previous model, and the saved choice, as they were. `hubAuth`: a gated hub
     * repository's token, for this download only (sent to the hub's origin only, kept nowhere).
     */
    async loadModel(url?: string, hubAuth?: HubAuth): Promise<void> {
      loading?.abort();
      const controller = new AbortController();
      loading = controller;
      const { backend, dtype } = get().settings;
      const modelUrl = url ?? get().settings.modelUrl;
      const previous = get().model;
      const fallBack = (error: AppError) => {
        // A lost GPU device, or a stalled engine stopped by the watchdog, takes the worker and the
        // model it held with it.
        const workerGone = error.code === 'device-lost' || error.code === 'stalled';
        if (workerGone && previous && modelUrl !== get().settings.modelUrl) {
          // A fresh worker opens the saved model (from the browser's cache) again.
          set({
            modelStatus: 'none',
            model: null,
            load: null,
            notice: `${error.message} Reopening ${previous.name}…`,
          });
          void actions.loadModel();
          return;
        }
        const kept = workerGone ? null : previous;
        set({
          modelStatus: kept ? 'ready' : 'failed',
          model: kept,
          load: null,
          error: kept
            ? { ...error, message: `${error.message} ${kept.name} is still loaded and ready.` }
            : error,
        });
      };
      clearErrorsFrom('model', 'backend');
      set({ modelStatus: 'loading', load: { baseUrl: modelUrl, files: {}, totalLoaded: 0, totalBytes: 0 } });
      // Best effort: a browser that agrees keeps the model store when space runs low.
      void globalThis.navigator?.storage?.persist?.().catch(() => false);
      try {
        const info = await deps.client.init(backend);
        if (controller.signal.aborted) return;
        set({ backend: info });
      } catch (e) {
        if (controller.signal.aborted) return;
        fallBack(toAppError('backend', e));
        return;
      }
      try {
        const model = await deps.client.loadModel(
          modelUrl,
          dtype,
          (p) => {
            const load = get().load;
            if (load && !controller.signal.aborted) set({ load: loadProgressOf(load, p) });
          },
          controller.signal,
          hubAuth,
        );
        if (controller.signal.aborted) return;
        const s = get().settings;
        // A different model brings its own defaults; the same model keeps the person's values.
        const withDefaults: AppSettings =
          s.editDefaultsFrom === model.name
            ? s
            : { ...s, edit: sanitizeEditSettings(model.defaults, s.edit), editDefaultsFrom: model.name };
        const settings = withDefaults.modelUrl === modelUrl ? withDefaults : { ...withDefaults, modelUrl };
        set({
          model,
          backend: model.backend,
          modelStatus: 'ready',
          load: null,
          settings,
          cache: { bytes: model.cachedBytes, packages: [] },
        });
        // "No model yet" from an earlier run attempt is answered now.
        if (get().error?.code === 'missing') set({ error: null });
        void actions.refreshCache();
      } catch (e) {
        if (controller.signal.aborted) return;
        fallBack(toAppError('model', e, { modelUrl }));
      } finally {
        if (loading === controller) loading = null;
      }
    },

    /** Stops the model load in progress; the model loaded before (if any) stays in use. */
    cancelLoad(): void {
      if (!loading) return;
      loading.abort();
      loading = null;
      const model = get().model;
      set({
        modelStatus: model ? 'ready' : 'none',
        load: null,
        notice: model ? `Loading cancelled. Still using ${model.name}.` : 'Loading cancelled.',
      });
    },

    async refreshCache(): Promise<void> {
      try {
        set({ cache: await deps.client.cacheInfo() });
      } catch {
        // The cache size is a nicety; its absence is not an error worth a message.
      }
    },

    async clearCache(): Promise<void> {
      try {
        await deps.client.clearCache();
        set({ notice: 'Model cache cleared. The model downloads again on the next load.' });
      } catch (e) {
        set({ error: toAppError('cache', e) });
      }
      await actions.refreshCache();
    },

    updateSettings(patch: Partial<AppSettings>): void {
      set({ settings: { ...get().settings, ...patch } });
    },

    updateEdit(patch: Partial<EditSettings>): void {
      const s = get().settings;
      set({ settings: { ...s, edit: sanitizeEditSettings({ ...s.edit, ...patch }, s.edit) } });
    },

    setBackend(backend: BackendChoice): void {
      if (backend === get().settings.backend) return;
      actions.updateSettings({ backend });
      void actions.loadModel(modelInHand());
    },

    setDtype(dtype: DtypeChoice): void {
      if (dtype === get().settings.dtype) return;
      actions.updateSettings({ dtype });
      void actions.loadModel(modelInHand());
    },

    /**
     * A package folder from disk: copied into the model store (checked file by file against its
     * manifest), then opened like any package and saved as the choice. While it copies, and if it
     * fails, the model in use stays loaded; a failure's message names the file and what to do.
     */
    async openFolder(folder: PickedFolder): Promise<void> {
      const { name, files } = folder;
      const refuse = (message: string, code?: AppError['code']) => {
        const kept = get().model;
        set({
          load: null,
          error: {
            source: 'model',
            code,
            message: kept ? `${message} ${kept.name} is still loaded and ready.` : message,
          },
        });
      };
      if (folder.problem) {
        refuse(`${name} ${folder.problem}`);
        return;
      }
      if (folder.overLimit) {
        refuse(
          `${name} holds more than ${MAX_FOLDER_FILES} files; a model package has fewer. Choose the package's own folder (the one that holds manifest.json).`,
        );
        return;
      }
      // no manifest: a checkpoint to convert in the tab (the worker's reader decides; convertActions.ts)
      if (!files.some((f) => f.path === 'manifest.json')) {
        await get().actions.offerConversion(folder);
        return;
      }
      clearErrorsFrom('model');
      const started = performance.now();
      set({ load: { baseUrl: name, files: {}, totalLoaded: 0, totalBytes: 0 } });
      let imported: { baseUrl: string; name: string; bytes: number };
      try {
        imported = await deps.client.importFolder(name, files, (p) => {
          const load = get().load;
          if (load) set({ load: loadProgressOf(load, p) });
        });
      } catch (e) {
        refuse(
          e instanceof EngineError ? e.message : toAppError('model', e).message,
          e instanceof EngineError ? e.code : undefined,
        );
        return;
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      set({
        load: null,
        notice: `Copied ${imported.name} (${formatBytes(imported.bytes)}) into this browser's storage in ${seconds} s.`,
      });
      void actions.refreshCache();
      await actions.loadModel(imported.baseUrl);
    },

    /** Loads a bundled or hosted model package (a folder URL holding manifest.json); saved as the choice once it loads. */
    chooseModel(url: string): void {
      const checked = checkModelUrl(url, location.href);
      if (!checked.ok) {
        set({ error: { source: 'model', message: checked.message } });
        return;
      }
      // hf:owner/repo: its size is read from the hub and shown before it downloads (modelLinkActions.ts)
      if ('hub' in checked) return get().actions.offerHubModel(url);
      const modelUrl = checked.url;
      if (modelUrl === '/') return;
      // loaded without being saved: it becomes the saved choice only once it works
      void actions.loadModel(modelUrl);
    },
  };
  return actions;
}
