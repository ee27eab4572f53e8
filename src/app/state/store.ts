/**
 * The app's store (zustand, vanilla so tests and the test API can use it without React).
 * State lives here; logic lives in pure helpers (lib/, derive.ts); effects live in the action
 * modules, which reach the worker only through EngineClient.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BackendInfo, ModelInfo } from '../../protocol/messages';
import type { CacheInfo, EngineClient } from '../../protocol/engineClient';
import type { AppDb } from '../persist/db';
import type { AppError } from '../lib/errors';
import { emptyHistory, type History } from '../lib/history';
import { defaultSettings, type AppSettings } from '../lib/settings';
import type { ModelStatus } from '../lib/derive';
import type { HistoryEntry, RunState, StageView, WordSelection } from '../lib/types';
import { convertActions, initialConvertData, type ConvertData } from './convertActions';
import { engineActions } from './engineActions';
import { imageActions } from './imageActions';
import { modelLinkActions, type ForeignModelOffer } from './modelLinkActions';
import { runActions } from './runActions';
import { viewActions } from './viewActions';

export interface LoadState {
  baseUrl: string;
  files: Record<string, { loaded: number; total: number }>;
  totalLoaded: number;
  totalBytes: number;
}

export interface AppData extends ConvertData {
  hydrated: boolean;
  settings: AppSettings;
  backend: BackendInfo | null;
  model: ModelInfo | null;
  modelStatus: ModelStatus;
  load: LoadState | null;
  cache: CacheInfo | null;
  history: History<HistoryEntry>;
  run: RunState | null;
  /** Index into run.frames; null follows the latest step. */
  scrub: number | null;
  word: WordSelection | null;
  view: StageView;
  instruction: string;
  error: AppError | null;
  /** Short, non-error news ("Cancelled at step 3/8."). */
  notice: string | null;
  /** An image is being read and decoded (a Run pressed meanwhile waits for it). */
  openingImage: boolean;
  /** Run was pressed while an image was opening: it starts once the image is open. */
  runQueued: boolean;
  /** A package on another site that a link named, waiting for the person's yes. */
  foreignModel: ForeignModelOffer | null;
  /** Bumped when the brush mask changes (the mask itself lives in media/brushMask). */
  maskVersion: number;
}

export type Actions = ReturnType<typeof engineActions> &
  ReturnType<typeof convertActions> &
  ReturnType<typeof modelLinkActions> &
  ReturnType<typeof imageActions> &
  ReturnType<typeof runActions> &
  ReturnType<typeof viewActions>;
export type AppState = AppData & { actions: Actions };
export type AppStore = StoreApi<AppState>;
export type SetState = AppStore['setState'];
export type GetState = AppStore['getState'];

export interface StoreDeps {
  client: EngineClient;
  db: AppDb;
  defaultModelUrl: string;
  /** A model package named by the page's link (`?model=<url>`); it wins over the saved choice. */
  linkedModelUrl?: string | null;
}

export function initialData(defaultModelUrl: string): AppData {
  return {
    hydrated: false,
    settings: defaultSettings(defaultModelUrl),
    backend: null,
    model: null,
    modelStatus: 'none',
    load: null,
    cache: null,
    history: emptyHistory<HistoryEntry>(),
    run: null,
    scrub: null,
    word: null,
    view: 'edit',
    instruction: '',
    error: null,
    notice: null,
    openingImage: false,
    runQueued: false,
    foreignModel: null,
    maskVersion: 0,
    ...initialConvertData(),
  };
}

export function createAppStore(deps: StoreDeps): AppStore {
  const store = createStore<AppState>()((set, get) => ({
    ...initialData(deps.defaultModelUrl),
    actions: {
      ...engineActions(set, get, deps),
      ...convertActions(set, get, deps),
      ...modelLinkActions(set, get, deps),
      ...imageActions(set, get, deps),
      ...runActions(set, get, deps),
      ...viewActions(set, get, deps),
    },
  }));
  // Persist what should survive a reload, once the saved state has been read back.
  store.subscribe((s, prev) => {
    if (!s.hydrated) return;
    if (s.settings !== prev.settings || !prev.hydrated) void deps.db.saveSettings(s.settings);
    if (s.history !== prev.history || !prev.hydrated) void deps.db.saveHistory(s.history);
  });
  deps.client.onLost((message) => {
    store.setState({
      model: null,
      modelStatus: 'none',
      notice: `${message}. Restarting the engine and reloading the model…`,
    });
    void store.getState().actions.loadModel();
  });
  return store;
}
