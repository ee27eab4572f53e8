/**
 * A gated hub checkpoint's token through the conversion actions: it goes to the worker with that
 * conversion's requests only (its offer's read and the conversion), and never into the store's
 * state, whatever the caller hands over. A real EngineClient with the fake worker
 * (src/protocol/testing/fakeWorker), a real AppDb (no IndexedDB in node: nothing saved is read).
 * The app's whole path (the hf: link's token field, the local hub server, the worker) is
 * e2e/hfLinks.spec.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckpointDescriptor, CheckpointFound, HubAuth, WorkerRequest } from '../../protocol/messages';
import { EngineClient } from '../../protocol/engineClient';
import { fakeModelInfo, FakeWorker } from '../../protocol/testing/fakeWorker';
import { AppDb } from '../persist/db';
import { stateTextOf } from '../testSnapshot';
import type { HubCheckpoint } from './convertActions';
import { createAppStore, type AppStore } from './store';

const TOKEN = 'hf_unitT0kenHeldForOneConversion42';
const DEFAULT = '/models/tiny-random/';
const BACKEND = { backend: 'wasm' as const, threads: 1 };
const HUB: HubCheckpoint = {
  kind: 'hub',
  name: 'ckpt',
  repo: 'owner/ckpt',
  commit: '0123456789abcdef0123456789abcdef01234567',
  endpoint: 'https://huggingface.co',
};
const AUTH: HubAuth = { origin: 'https://huggingface.co', token: TOKEN };
const FOUND: CheckpointFound = {
  name: 'ckpt',
  model: 'EditMGT checkpoint',
  checkpointBytes: 1000,
  dtypes: [{ dtype: 'fp32', bytes: 2000 }],
  dtype: 'fp32',
  freeBytes: null,
};
const folder = () => ({ name: 'ckpt', files: [], overLimit: false });

/** The checkpoint requests the worker was sent, with what each carried of a token. */
const checkpointRequests = (w: FakeWorker) =>
  w.posted.flatMap(({ message: m }) =>
    m.type === 'inspectCheckpoint' || m.type === 'convertCheckpoint'
      ? [{ type: m.type, hubAuth: (m.source as Extract<CheckpointDescriptor, { kind: 'hub' }>).hubAuth }]
      : [],
  );

/** A worker that loads any package and reads and converts any checkpoint (or fails to convert it). */
function worker(convert: 'converts' | 'fails' = 'converts'): FakeWorker {
  return new FakeWorker((req: WorkerRequest, w) => {
    const id = req.id;
    if (req.type === 'init') w.send({ type: 'backend', id, info: BACKEND });
    else if (req.type === 'cacheInfo') w.send({ type: 'cacheInfo', id, bytes: 0, packages: [] });
    else if (req.type === 'interruptedConversions')
      w.send({ type: 'interruptedConversions', id, conversions: [] });
    else if (req.type === 'inspectCheckpoint') w.send({ type: 'checkpointFound', id, found: FOUND });
    else if (req.type === 'convertCheckpoint') {
      if (convert === 'fails')
        w.send({
          type: 'error',
          id,
          code: 'model-invalid',
          message: 'The hub refused the download of hf:owner/ckpt (HTTP 401)',
        });
      else w.send({ type: 'folderImported', id, baseUrl: 'local://ckpt/', name: 'ckpt', bytes: 1 });
    } else if (req.type === 'loadModel')
      w.send({
        type: 'modelLoaded',
        id,
        model: fakeModelInfo({
          name: req.baseUrl === DEFAULT ? 'default' : 'ckpt',
          baseUrl: req.baseUrl,
          backend: BACKEND,
          defaults: { steps: 4, guidance: 1, seed: 0 } as never,
        }),
      });
  });
}

let unwatch: (() => void) | null = null;
afterEach(() => {
  unwatch?.();
  unwatch = null;
});

/** The app at start, with every state it goes through searched for the token. */
async function app(w: FakeWorker): Promise<{ store: AppStore; leaks: string[] }> {
  const db = new AppDb();
  db.load = () => Promise.resolve({ settings: null, history: { entries: [], cursor: -1 } });
  const store = createAppStore({ client: new EngineClient({}, () => w), db, defaultModelUrl: DEFAULT });
  const leaks: string[] = [];
  unwatch = store.subscribe((s) => {
    const text = stateTextOf(s);
    if (text.includes(TOKEN)) leaks.push(text);
  });
  await store.getState().actions.start();
  return { store, leaks };
}

describe("a gated hub checkpoint's token", () => {
  it('goes to the worker with its offer and its conversion only, and never into the state', async () => {
    const w = worker();
    const { store, leaks } = await app(w);
    await store.getState().actions.offerConversion(folder(), HUB, AUTH);
    expect(store.getState().convert?.stage).toBe('offer');
    expect(store.getState().convert?.source).toEqual(HUB);
    await store.getState().actions.acceptConversion();
    expect(store.getState().model?.name).toBe('ckpt');
    expect(checkpointRequests(w)).toEqual([
      { type: 'inspectCheckpoint', hubAuth: AUTH },
      { type: 'convertCheckpoint', hubAuth: AUTH },
    ]);
    expect(leaks).toEqual([]);

    // the same repository again without a token: nothing of the first goes with it
    w.posted.length = 0;
    await store.getState().actions.offerConversion(folder(), HUB);
    await store.getState().actions.acceptConversion();
    expect(checkpointRequests(w).map((r) => r.hubAuth)).toEqual([undefined, undefined]);
  });

  it('handed over inside the repository it is for, is kept out of the state all the same', async () => {
    const w = worker();
    const { store, leaks } = await app(w);
    const withToken = { ...HUB, hubAuth: AUTH } as HubCheckpoint;
    await store.getState().actions.offerConversion(folder(), withToken, AUTH);
    expect(store.getState().convert?.source).toEqual(HUB);
    await store.getState().actions.acceptConversion();
    expect(checkpointRequests(w).map((r) => r.hubAuth)).toEqual([AUTH, AUTH]);
    expect(leaks).toEqual([]);
  });

  it('a declined or failed conversion keeps none of it: a later offer carries none, the failure names no token', async () => {
    const w = worker('fails');
    const { store, leaks } = await app(w);
    const a = store.getState().actions;
    const picked = folder();
    await a.offerConversion(picked, HUB, AUTH);
    a.declineConversion();
    expect(store.getState().convert).toBeNull();
    // the same conversion's offer again (the same folder object), with no token given
    w.posted.length = 0;
    await a.offerConversion(picked, HUB);
    await a.acceptConversion();
    expect(checkpointRequests(w).map((r) => r.hubAuth)).toEqual([undefined, undefined]);

    w.posted.length = 0;
    await a.offerConversion(folder(), HUB, AUTH);
    await a.acceptConversion();
    const s = store.getState();
    expect(s.convert).toBeNull();
    expect(s.error?.message).toContain('The hub refused the download of hf:owner/ckpt (HTTP 401)');
    expect(s.error?.message).not.toContain(TOKEN);
    expect(s.model?.name).toBe('default');
    expect(checkpointRequests(w).map((r) => r.hubAuth)).toEqual([AUTH, AUTH]);
    expect(leaks).toEqual([]);
  });
});
