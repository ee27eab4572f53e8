/**
 * The notice after a package folder is copied into the model store says the package's stored
 * bytes, as the worker answers them, whatever else moved the load progress meanwhile (here a
 * model load that finishes during the copy). A real EngineClient with the fake worker
 * (src/protocol/testing/fakeWorker), a real AppDb (no IndexedDB in node). The app's whole path is
 * e2e/openFolder.spec.ts.
 */
import { describe, expect, it } from 'vitest';
import type { WorkerRequest } from '../../protocol/messages';
import { EngineClient } from '../../protocol/engineClient';
import { fakeModelInfo, FakeWorker } from '../../protocol/testing/fakeWorker';
import { AppDb } from '../persist/db';
import { createAppStore } from './store';

const DEFAULT = '/models/tiny-random/';
const BACKEND = { backend: 'wasm' as const, threads: 1 };
const STORED = 3_301_234_567;

describe('the notice after a package folder is copied', () => {
  it('says the stored bytes the worker answers, though a model load finished during the copy', async () => {
    let importId: number | null = null;
    const w = new FakeWorker((req: WorkerRequest, w) => {
      const id = req.id;
      if (req.type === 'init') w.send({ type: 'backend', id, info: BACKEND });
      else if (req.type === 'cacheInfo') w.send({ type: 'cacheInfo', id, bytes: 0, packages: [] });
      else if (req.type === 'interruptedConversions')
        w.send({ type: 'interruptedConversions', id, conversions: [] });
      else if (req.type === 'importFolder') {
        importId = id;
        w.send({
          type: 'progress',
          id,
          file: 'q4/transformer_step.onnx',
          loaded: 1000,
          total: 2000,
          totalLoaded: 1000,
          totalBytes: STORED,
        });
      } else if (req.type === 'loadModel')
        w.send({
          type: 'modelLoaded',
          id,
          model: fakeModelInfo({
            name: req.baseUrl === DEFAULT ? 'default' : 'full-q4',
            baseUrl: req.baseUrl,
            dtype: 'q4',
            backend: BACKEND,
            defaults: { steps: 4, guidance: 1, seed: 0 } as never,
          }),
        });
    });
    const db = new AppDb();
    db.load = () => Promise.resolve({ settings: null, history: { entries: [], cursor: -1 } });
    const store = createAppStore({ client: new EngineClient({}, () => w), db, defaultModelUrl: DEFAULT });
    await store.getState().actions.start();

    const manifest = new File(['{}'], 'manifest.json');
    const opened = store.getState().actions.openFolder({
      name: 'full-q4',
      files: [{ path: 'manifest.json', file: manifest }],
      overLimit: false,
    });
    await expect.poll(() => importId).not.toBeNull();
    await expect.poll(() => store.getState().load?.totalBytes).toBe(STORED);
    // another load runs to its end while the folder copies (it takes the load progress with it)
    await store.getState().actions.loadModel(DEFAULT);
    expect(store.getState().load).toBeNull();
    w.send({
      type: 'folderImported',
      id: importId!,
      baseUrl: 'local://full-q4/',
      name: 'full-q4',
      bytes: STORED,
    });
    await opened;
    expect(store.getState().notice).toMatch(
      /^Copied full-q4 \(3\.3 GB\) into this browser's storage in \d+\.\d s\.$/,
    );
  });
});
