/**
 * The first model of a visit and the link offer, on a real EngineClient with the fake worker
 * (src/protocol/testing/fakeWorker) and a real AppDb (no IndexedDB in node: the saved settings
 * are given to it as a reload would read them).
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { packageEditOptions, validateManifest } from '../../engine/index';
import type { ModelInfo, WorkerRequest } from '../../protocol/messages';
import { EngineClient } from '../../protocol/engineClient';
import { fakeModelInfo, FakeWorker } from '../../protocol/testing/fakeWorker';
import { AppDb } from '../persist/db';
import { createAppStore, type AppStore } from './store';

const DEFAULT = '/models/tiny-random/';
const SAVED = '/models/saved/';
const manifest = validateManifest(
  JSON.parse(readFileSync('public/models/tiny-random/manifest.json', 'utf8')),
);
const BACKEND = { backend: 'wasm' as const, threads: 1 };

function modelInfo(baseUrl: string, name: string): ModelInfo {
  return fakeModelInfo({ name, baseUrl, backend: BACKEND, defaults: packageEditOptions(manifest) });
}

/** Loads the packages in `good` (by URL, named as given); any other fails as unavailable. */
function worker(good: Record<string, string>, initFails = false): FakeWorker {
  return new FakeWorker((req: WorkerRequest, w) => {
    if (req.type === 'init') {
      if (initFails)
        w.send({ type: 'error', id: req.id, code: 'backend-unavailable', message: 'no backend' });
      else w.send({ type: 'backend', id: req.id, info: BACKEND });
    } else if (req.type === 'cacheInfo') w.send({ type: 'cacheInfo', id: req.id, bytes: 0, packages: [] });
    else if (req.type === 'loadModel') {
      const name = good[req.baseUrl];
      if (name) w.send({ type: 'modelLoaded', id: req.id, model: modelInfo(req.baseUrl, name) });
      else w.send({ type: 'error', id: req.id, code: 'model-unavailable', message: 'HTTP 404' });
    }
  });
}

function setup(w: FakeWorker, saved: string | null, link: string | null = null): AppStore {
  const db = new AppDb();
  const empty = { entries: [], cursor: -1 };
  db.load = () => Promise.resolve({ settings: saved ? { modelUrl: saved } : null, history: empty });
  const client = new EngineClient({}, () => w);
  return createAppStore({ client, db, defaultModelUrl: DEFAULT, linkedModelUrl: link });
}

const loadsAsked = (w: FakeWorker) =>
  w.posted.flatMap((p) => (p.message.type === 'loadModel' ? [p.message.baseUrl] : []));

beforeEach(() => {
  vi.stubGlobal('location', new URL('http://127.0.0.1:4173/'));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the first model of a visit', () => {
  it('a same-site link that fails gives way to the saved model, and is not saved', async () => {
    const w = worker({ [SAVED]: 'saved', [DEFAULT]: 'default' });
    const store = setup(w, SAVED, '/nope/');
    await store.getState().actions.start();
    const s = store.getState();
    expect([s.modelStatus, s.model?.name, s.settings.modelUrl]).toEqual(['ready', 'saved', SAVED]);
    expect(s.notice).toMatch(
      /^The linked model \/nope\/ could not be loaded \(.*HTTP 404.*\)\. saved \(\/models\/saved\/\) is loaded instead\.$/,
    );
    expect(loadsAsked(w)).toEqual(['/nope/', SAVED]);
  });

  it('a saved model that fails gives way to the bundled default, which becomes the choice', async () => {
    const w = worker({ [DEFAULT]: 'default' });
    const store = setup(w, SAVED);
    await store.getState().actions.start();
    const s = store.getState();
    expect([s.modelStatus, s.model?.name, s.settings.modelUrl]).toEqual(['ready', 'default', DEFAULT]);
    expect(s.notice).toMatch(
      /^The saved model \/models\/saved\/ could not be loaded \(.*\)\. default \(\/models\/tiny-random\/\) is loaded instead\.$/,
    );
    expect(loadsAsked(w)).toEqual([SAVED, DEFAULT]);
  });

  it('a link that loads becomes the saved choice, with no notice', async () => {
    const w = worker({ '/models/linked/': 'linked', [DEFAULT]: 'default' });
    const store = setup(w, null, 'models/linked');
    await store.getState().actions.start();
    const s = store.getState();
    expect([s.model?.name, s.settings.modelUrl, s.notice]).toEqual(['linked', '/models/linked/', null]);
    expect(loadsAsked(w)).toEqual(['/models/linked/']);
  });

  it('an engine that cannot start is no reason to try other models', async () => {
    const w = worker({ [DEFAULT]: 'default' }, true);
    const store = setup(w, SAVED);
    await store.getState().actions.start();
    const s = store.getState();
    expect([s.modelStatus, s.error?.source, s.notice, s.settings.modelUrl]).toEqual([
      'failed',
      'backend',
      null,
      SAVED,
    ]);
    expect(loadsAsked(w)).toEqual([]);
  });
});

describe('a link to a package on another site', () => {
  it('is offered with nothing fetched; the model in use loads meanwhile', async () => {
    const w = worker({ [DEFAULT]: 'default' });
    const store = setup(w, null, 'https://models.example.org/editmgt/');
    await store.getState().actions.start();
    const s = store.getState();
    expect(s.foreignModel).toEqual({
      url: 'https://models.example.org/editmgt/',
      host: 'models.example.org',
      contacted: false,
      sizes: null,
      problem: null,
      hub: null,
    });
    expect([s.model?.name, s.settings.modelUrl]).toEqual(['default', DEFAULT]);
    expect(loadsAsked(w)).toEqual([DEFAULT]);
  });
});

describe('an hf: link', () => {
  it('is offered as a hub repository with nothing asked of the hub; the model in use loads meanwhile', async () => {
    const w = worker({ [DEFAULT]: 'default' });
    const store = setup(w, null, 'hf:owner/repo');
    await store.getState().actions.start();
    const s = store.getState();
    expect(s.foreignModel).toEqual({
      url: 'hf:owner/repo@main',
      host: 'huggingface.co',
      contacted: false,
      sizes: null,
      problem: null,
      hub: {
        repo: 'owner/repo',
        revision: 'main',
        endpoint: 'https://huggingface.co',
        commit: null,
        kind: null,
        needsToken: false,
        tokenGiven: false,
        checkpointBytes: null,
      },
    });
    expect(s.error).toBeNull();
    expect([s.model?.name, s.settings.modelUrl]).toEqual(['default', DEFAULT]);
    expect(loadsAsked(w)).toEqual([DEFAULT]);
  });

  it('that is malformed is refused with a message, and the model in use loads', async () => {
    const w = worker({ [DEFAULT]: 'default' });
    const store = setup(w, null, 'hf:nothing');
    await store.getState().actions.start();
    const s = store.getState();
    expect(s.foreignModel).toBeNull();
    expect(s.error?.message).toContain('expected hf:owner/repo[@revision]');
    expect(s.model?.name).toBe('default');
  });
});
