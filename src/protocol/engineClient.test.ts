/**
 * EngineClient against a fake worker (testing/fakeWorker.ts: a real object that answers over a
 * tick, as the engine worker does over its port). What is checked is the client's own logic:
 * the greeting, ordering, streaming, cancel, loss, rebuild.
 */
import { describe, expect, it } from 'vitest';
import { fallbackEditOptions } from '../engine/index';
import { PROTOCOL_VERSION } from './messages';
import type { ModelInfo } from './messages';
import { EngineClient, EngineError } from './engineClient';
import { FakeWorker } from './testing/fakeWorker';
import type { Respond } from './testing/fakeWorker';

const BACKEND = { backend: 'wasm' as const, threads: 1 };

/** Answers init; leaves everything else to `more` (unanswered if it does nothing). */
function worker(more: Respond = () => undefined, version?: number): FakeWorker {
  return new FakeWorker((req, w) => {
    if (req.type === 'init') w.send({ type: 'backend', id: req.id, info: BACKEND });
    else more(req, w);
  }, version);
}

function clientWith(...workers: FakeWorker[]): { client: EngineClient; made: FakeWorker[] } {
  const made: FakeWorker[] = [];
  const client = new EngineClient({}, () => {
    const next = workers.shift();
    if (!next) throw new Error('no more fake workers');
    made.push(next);
    return next;
  });
  return { client, made };
}

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error('expected a rejection');
}

const MODEL = { name: 'tiny' } as ModelInfo;

describe('EngineClient', () => {
  it('sends its runtime options in the greeting', async () => {
    const w = worker();
    const client = new EngineClient({ memory: 'phased', diagnostics: true }, () => w);
    await client.handshake();
    expect(w.posted[0]!.message).toEqual({
      type: 'hello',
      id: 1,
      version: PROTOCOL_VERSION,
      options: { memory: 'phased', diagnostics: true },
    });
  });

  it('greets a new worker with the protocol version before anything else, then keeps request order', async () => {
    const w = worker();
    const { client } = clientWith(w);
    const a = client.init('wasm');
    const b = client.init('auto');
    expect(await a).toEqual(BACKEND);
    await b;
    expect(w.posted[0]!.message).toEqual({ type: 'hello', id: 1, version: PROTOCOL_VERSION, options: {} });
    expect(w.types()).toEqual(['hello', 'init', 'init']);
    expect(w.posted.map((p) => (p.message.type === 'init' ? p.message.backend : null))).toEqual([
      null,
      'wasm',
      'auto',
    ]);
  });

  it('refuses to talk to a worker from another build: every request fails with version-mismatch, none is sent', async () => {
    const w = worker(() => undefined, PROTOCOL_VERSION + 1);
    const { client } = clientWith(w);
    const err = await rejection(client.init('wasm'));
    expect(err.code).toBe('version-mismatch');
    expect(err.message).toContain(`protocol ${PROTOCOL_VERSION + 1}, this page ${PROTOCOL_VERSION}`);
    expect((await rejection(client.handshake())).code).toBe('version-mismatch');
    expect((await rejection(client.cacheInfo())).code).toBe('version-mismatch');
    expect(w.types()).toEqual(['hello']);
  });

  it('streams progress to its listener and resolves with the final reply', async () => {
    const w = worker((req, port) => {
      if (req.type !== 'loadModel') return;
      port.send({
        type: 'progress',
        id: req.id,
        file: 'a.onnx',
        loaded: 5,
        total: 10,
        totalLoaded: 5,
        totalBytes: 20,
      });
      port.send({
        type: 'progress',
        id: req.id,
        file: 'a.onnx',
        loaded: 10,
        total: 10,
        totalLoaded: 10,
        totalBytes: 20,
      });
      port.send({ type: 'modelLoaded', id: req.id, model: MODEL });
      port.send({
        type: 'progress',
        id: req.id,
        file: 'late',
        loaded: 0,
        total: 0,
        totalLoaded: 0,
        totalBytes: 0,
      });
    });
    const { client } = clientWith(w);
    const seen: number[] = [];
    expect(await client.loadModel('/m/', 'auto', (p) => seen.push(p.totalLoaded))).toBe(MODEL);
    expect(seen).toEqual([5, 10]);
  });

  it('turns an error reply into an EngineError with its code', async () => {
    const w = worker((req, port) =>
      port.send({ type: 'error', id: req.id, code: 'model-invalid', message: 'bad manifest' }),
    );
    const { client } = clientWith(w);
    const err = await rejection(client.loadModel('/m/', 'auto', () => undefined));
    expect([err.code, err.message]).toEqual(['model-invalid', 'bad manifest']);
  });

  it('transfers the image buffer of an edit, and cancels at once on abort, dropping late steps', async () => {
    let editId = 0;
    const w = worker((req, port) => {
      if (req.type === 'edit') {
        editId = req.id;
        port.send({ type: 'step', id: req.id, step: { step: 0 } as never });
      }
    });
    const { client } = clientWith(w);
    const steps: number[] = [];
    const controller = new AbortController();
    const image = { width: 1, height: 1, buffer: new ArrayBuffer(4) };
    const settings = { ...fallbackEditOptions(), steps: 2 };
    const run = client.edit(
      { image, instruction: 'x', settings },
      { onStep: (s) => steps.push(s.step) },
      controller.signal,
    );
    await expect.poll(() => steps.length).toBe(1);
    controller.abort();
    expect((await rejection(run)).code).toBe('cancelled');
    const edit = w.posted.find((p) => p.message.type === 'edit')!;
    expect(edit.transfer).toEqual([image.buffer]);
    expect(w.posted.at(-1)!.message).toMatchObject({ type: 'cancel', target: editId });
    w.send({ type: 'step', id: editId, step: { step: 1 } as never });
    w.send({ type: 'result', id: editId, result: {} as never });
    expect(steps).toEqual([0]);
  });

  it('does not send a request whose signal is already aborted', async () => {
    const w = worker();
    const { client } = clientWith(w);
    const controller = new AbortController();
    controller.abort();
    expect((await rejection(client.loadModel('/m/', 'auto', () => undefined, controller.signal))).code).toBe(
      'cancelled',
    );
    expect(w.types()).not.toContain('loadModel');
  });

  it('on a device loss answers every pending request, drops the worker and greets a fresh one next time', async () => {
    const first = worker((req, port) => {
      if (req.type === 'cacheInfo')
        port.send({ type: 'error', id: req.id, code: 'device-lost', message: 'gone' });
    });
    const second = worker((req, port) => {
      if (req.type === 'cacheInfo') port.send({ type: 'cacheInfo', id: req.id, bytes: 7, packages: [] });
    });
    const { client, made } = clientWith(first, second);
    const lost: string[] = [];
    client.onLost((m) => lost.push(m));
    const waiting = client.loadModel('/m/', 'auto', () => undefined);
    const failed = client.cacheInfo();
    expect((await rejection(failed)).code).toBe('device-lost');
    expect((await rejection(waiting)).code).toBe('device-lost');
    expect(first.terminated).toBe(true);
    // Answered requests: the page already hears of the loss through them.
    expect(lost).toEqual([]);
    expect((await client.cacheInfo()).bytes).toBe(7);
    expect(made).toEqual([first, second]);
    expect(second.types()).toEqual(['hello', 'cacheInfo']);
  });

  it('tells listeners of a loss while idle (id 0)', async () => {
    const w = worker();
    const { client } = clientWith(w);
    const lost: string[] = [];
    client.onLost((m) => lost.push(m));
    await client.init('wasm');
    w.send({ type: 'error', id: 0, code: 'device-lost', message: 'the GPU reset' });
    expect(lost).toEqual(['the GPU reset']);
  });

  it('when the worker crashes fails what is pending, tells listeners, and starts a new worker on the next request', async () => {
    const first = worker();
    const second = worker();
    const { client } = clientWith(first, second);
    const lost: string[] = [];
    client.onLost((m) => lost.push(m));
    await client.init('wasm');
    const pending = client.cacheInfo();
    first.crash('out of memory');
    const err = await rejection(pending);
    expect(err.code).toBe('internal');
    expect(lost).toEqual(['The engine worker stopped: out of memory']);
    expect(await client.init('wasm')).toEqual(BACKEND);
    expect(second.types()).toEqual(['hello', 'init']);
  });
});
