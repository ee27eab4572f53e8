/**
 * The store's actions with a real EngineClient on a fake worker (src/protocol/testing/fakeWorker)
 * and a real AppDb (without IndexedDB in node it keeps nothing, as in a private window).
 * The model's defaults come from a shipped package's manifest, mapped by the engine.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EngineClient } from '../../protocol/engineClient';
import { fakeModelInfo, FakeWorker } from '../../protocol/testing/fakeWorker';
import type { Respond } from '../../protocol/testing/fakeWorker';
import { EDIT_SETTINGS, packageEditOptions, validateManifest } from '../../engine/index';
import { PROTOCOL_VERSION } from '../../protocol/messages';
import type { ModelInfo } from '../../protocol/messages';
import { AppDb } from '../persist/db';
import { FALLBACK_EDIT_SETTINGS } from '../lib/settings';
import { createAppStore } from './store';
import type { AppStore } from './store';

const TINY = '/models/tiny-random/';
const manifest = validateManifest(
  JSON.parse(readFileSync('public/models/tiny-random/manifest.json', 'utf8')),
);
const BACKEND = { backend: 'wasm' as const, threads: 1 };

function modelInfo(baseUrl: string): ModelInfo {
  return fakeModelInfo({
    name: manifest.name,
    baseUrl,
    backend: BACKEND,
    defaults: packageEditOptions(manifest),
  });
}

/** Loads TINY; fails any other package as unavailable; `hold` keeps loads of `hold` unanswered. */
function engineWorker(options: { hold?: string; version?: number } = {}): FakeWorker {
  const respond: Respond = (req, w) => {
    if (req.type === 'init') w.send({ type: 'backend', id: req.id, info: BACKEND });
    else if (req.type === 'cacheInfo') w.send({ type: 'cacheInfo', id: req.id, bytes: 0, packages: [] });
    else if (req.type === 'cancel') w.send({ type: 'done', id: req.id });
    else if (req.type === 'loadModel' && req.baseUrl !== options.hold) {
      if (req.baseUrl === TINY) w.send({ type: 'modelLoaded', id: req.id, model: modelInfo(TINY) });
      else w.send({ type: 'error', id: req.id, code: 'model-unavailable', message: 'HTTP 404' });
    }
  };
  return new FakeWorker(respond, options.version);
}

function setup(...workers: FakeWorker[]): { store: AppStore; workers: FakeWorker[] } {
  const made: FakeWorker[] = [];
  const client = new EngineClient({}, () => {
    const w = workers.shift() ?? engineWorker();
    made.push(w);
    return w;
  });
  return { store: createAppStore({ client, db: new AppDb(), defaultModelUrl: TINY }), workers: made };
}

const state = (store: AppStore) => store.getState();

beforeEach(() => {
  vi.stubGlobal('location', new URL('http://127.0.0.1:4173/'));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('app store', () => {
  it('starts: hydrates, loads the saved model and takes its defaults from the package', async () => {
    const { store } = setup(engineWorker());
    expect(state(store).settings.edit).toEqual(FALLBACK_EDIT_SETTINGS);
    await state(store).actions.start();
    const s = state(store);
    expect([s.hydrated, s.modelStatus, s.model?.name, s.error]).toEqual([true, 'ready', manifest.name, null]);
    expect(s.settings.edit).toEqual(packageEditOptions(manifest));
    expect(s.settings.edit.steps).toBe(manifest.defaults.steps);
    expect(s.settings.editDefaultsFrom).toBe(manifest.name);
  });

  it('says clearly when the worker comes from another build of the app', async () => {
    const { store, workers } = setup(engineWorker({ version: PROTOCOL_VERSION + 1 }));
    await state(store).actions.start();
    const s = state(store);
    expect(s.modelStatus).toBe('failed');
    expect(s.error?.code).toBe('version-mismatch');
    expect(s.error?.message).toMatch(/different versions of the app.*Reload the page/);
    expect(workers[0]!.types()).toEqual(['hello']);
  });

  it('keeps edit settings inside the table’s ranges, whatever is typed', async () => {
    const { store } = setup(engineWorker());
    await state(store).actions.start();
    state(store).actions.updateEdit({ steps: 1000, guidance: -4, seed: 12.7 });
    const e = state(store).settings.edit;
    expect([e.steps, e.guidance, e.seed]).toEqual([EDIT_SETTINGS.steps.max, 0, 13]);
    expect(e.referenceStrength).toBe(manifest.defaults.reference_strength);
  });

  it('keeps the loaded model, and the saved choice, when another fails to load', async () => {
    const { store } = setup(engineWorker());
    await state(store).actions.start();
    await state(store).actions.loadModel('/models/missing/');
    const s = state(store);
    expect([s.modelStatus, s.model?.baseUrl, s.settings.modelUrl]).toEqual(['ready', TINY, TINY]);
    expect(s.error?.code).toBe('model-unavailable');
    expect(s.error?.message).toContain(`${manifest.name} is still loaded and ready`);
  });

  it('refuses a model address that is not a package URL without asking the worker', async () => {
    const { store, workers } = setup(engineWorker());
    await state(store).actions.start();
    const sent = workers[0]!.posted.length;
    state(store).actions.chooseModel('javascript:alert(1)');
    expect(state(store).error?.source).toBe('model');
    expect(workers[0]!.posted.length).toBe(sent);
    expect(state(store).model?.baseUrl).toBe(TINY);
  });

  it('cancels a load in progress: the worker is told, the model before stays', async () => {
    const slow = '/models/slow/';
    const { store, workers } = setup(engineWorker({ hold: slow }));
    await state(store).actions.start();
    const loading = state(store).actions.loadModel(slow);
    await vi.waitFor(() => expect(workers[0]!.types().at(-1)).toBe('loadModel'));
    state(store).actions.cancelLoad();
    await loading;
    const s = state(store);
    expect([s.modelStatus, s.model?.baseUrl, s.notice]).toEqual([
      'ready',
      TINY,
      `Loading cancelled. Still using ${manifest.name}.`,
    ]);
    expect(workers[0]!.posted.at(-1)!.message).toMatchObject({ type: 'cancel' });
  });

  it('refuses to run without an image, saying what is missing', async () => {
    const { store } = setup(engineWorker());
    await state(store).actions.start();
    state(store).actions.setInstruction('make it red');
    await state(store).actions.run();
    expect(state(store).error).toMatchObject({ source: 'input', code: 'missing' });
    expect(state(store).error?.message).toMatch(/Add an image first/);
    expect(state(store).run).toBeNull();
  });

  it('when the worker dies, reloads the model in a fresh worker', async () => {
    const { store, workers } = setup(engineWorker(), engineWorker());
    await state(store).actions.start();
    workers[0]!.crash('out of memory');
    expect(state(store).notice).toMatch(/The engine worker stopped: out of memory\. Restarting the engine/);
    await vi.waitFor(() => expect(state(store).modelStatus).toBe('ready'));
    expect(workers).toHaveLength(2);
    expect(workers[1]!.types()).toEqual(['hello', 'init', 'loadModel', 'cacheInfo']);
  });
});
