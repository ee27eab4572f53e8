/**
 * The manifest rules hold for every package source: a web page where the manifest should be, a
 * manifest over MAX_MANIFEST_BYTES (endless, or declared larger) and broken JSON get the same
 * message, naming where it came from, through the node folder and URL sources (the CLI and the
 * node library), the web fetch source (the web library) and the app's link check. The worker's
 * source is covered in Chromium (e2e/loading.spec.ts, e2e/loadFailures.spec.ts).
 */
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppDb } from '../app/persist/db';
import { createAppStore } from '../app/state/store';
import { EngineClient } from '../protocol/engineClient';
import { FakeWorker } from '../protocol/testing/fakeWorker';
import { Editor } from './editor';
import { readCapped } from './manifest';
import { cpuOptions, packageSource } from './runtime/node/modelPackage';
import { fetchSource } from './runtime/web/fetchSource';

const PAGE = '<!DOCTYPE html>\n<html><body>Welcome</body></html>';

/** The one message of each case, for a manifest read from `where`. */
const MESSAGES = {
  'web page': (where: string) =>
    `${where} sent a web page, not a model manifest. Is this a model package URL?`,
  'web page sent as text': (where: string) =>
    `${where} sent a web page, not a model manifest. Is this a model package URL?`,
  endless: (where: string) =>
    new RegExp(
      `^${where.replace(/[.?/]/g, '\\$&')} is too large: at least \\d+ bytes, where such a file may be at most 16 MiB\\. Is this a model package URL\\?$`,
    ),
  'declared 4 GiB': (where: string) =>
    `${where} is too large: at least ${4 * 2 ** 30} bytes, where such a file may be at most 16 MiB. Is this a model package URL?`,
  'broken JSON': (where: string) => `${where} is not a JSON manifest`,
};
type Case = keyof typeof MESSAGES;
const CASES = Object.keys(MESSAGES) as Case[];

let server: Server;
let origin = '';
let dir = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'editmgt-manifest-rules-'));
  // the same cases as package folders on disk (a 4 GiB sparse manifest costs no disk)
  const folder = (name: string, write: (path: string) => void) => {
    mkdirSync(join(dir, name));
    write(join(dir, name, 'manifest.json'));
  };
  folder('web page', (p) => writeFileSync(p, PAGE));
  folder('broken JSON', (p) => writeFileSync(p, '{"name": "tiny'));
  folder('declared 4 GiB', (p) => {
    const fd = openSync(p, 'w');
    ftruncateSync(fd, 4 * 2 ** 30);
    closeSync(fd);
  });
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname).split('/').filter(Boolean);
    const which = path[0] as Case;
    res.setHeader('access-control-allow-origin', '*');
    if (path[1] !== 'manifest.json') return void res.writeHead(404).end();
    if (which === 'web page') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else if (which === 'web page sent as text')
      res.writeHead(200, { 'content-type': 'text/plain' }).end(PAGE);
    else if (which === 'broken JSON')
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"name": "tiny');
    else if (which === 'declared 4 GiB') {
      res.writeHead(200, { 'content-length': String(4 * 2 ** 30) });
      res.write('{');
    } else if (which === 'endless') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1 << 20, 0x20);
      let sent = 0;
      const more = () => {
        while (sent < 64 && !res.destroyed && res.write(chunk)) sent++;
        if (sent < 64 && !res.destroyed) res.once('drain', more);
        else res.end();
      };
      res.write('{"name": "');
      more();
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const urlOf = (c: Case) => `${origin}/${encodeURIComponent(c)}/`;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => 'opened',
    (err: Error) => err.message,
  );
const expectMessage = (got: string, c: Case, where: string) => {
  const want = MESSAGES[c](where);
  if (typeof want === 'string') expect(got, c).toBe(want);
  else expect(got, c).toMatch(want);
};

describe('the manifest rules, for every package source', () => {
  it('the node URL source (the CLI, the node library)', async () => {
    const cacheDir = join(dir, 'cache');
    for (const c of CASES) {
      const got = await failure(Editor.open(packageSource(urlOf(c), cacheDir), cpuOptions('fp32')));
      expectMessage(got, c, `${urlOf(c)}manifest.json`);
    }
  }, 60_000);

  it('the node folder source', async () => {
    for (const c of ['web page', 'broken JSON', 'declared 4 GiB'] as const) {
      const got = await failure(Editor.open(packageSource(join(dir, c)), cpuOptions('fp32')));
      expectMessage(got, c, join(dir, c, 'manifest.json'));
    }
  });

  it('the web fetch source (the web library)', async () => {
    for (const c of CASES) {
      const got = await failure(
        Editor.open(fetchSource(urlOf(c)), {
          device: 'wasm',
          runtime: () => Promise.reject(new Error('no graph is reached in this test')),
          makeEncoder: () => {
            throw new Error('no tokenizer is reached in this test');
          },
        }),
      );
      expectMessage(got, c, `${urlOf(c)}manifest.json`);
    }
  }, 60_000);

  it('the app’s link check (the size the person is asked to accept)', async () => {
    const w = new FakeWorker((req, worker) => {
      if (req.type === 'init')
        worker.send({ type: 'backend', id: req.id, info: { backend: 'wasm', threads: 1 } });
      else if (req.type === 'cacheInfo')
        worker.send({ type: 'cacheInfo', id: req.id, bytes: 0, packages: [] });
      else if ('id' in req)
        worker.send({ type: 'error', id: req.id, code: 'model-unavailable', message: 'x' });
    });
    const db = new AppDb();
    db.load = () => Promise.resolve({ settings: null, history: { entries: [], cursor: -1 } });
    const store = createAppStore({
      client: new EngineClient({}, () => w),
      db,
      defaultModelUrl: '/models/tiny-random/',
      linkedModelUrl: null,
    });
    for (const c of CASES) {
      store.getState().actions.offerForeignModel(urlOf(c), '127.0.0.1');
      await store.getState().actions.checkForeignModel();
      const offer = store.getState().foreignModel!;
      expect(offer.sizes, c).toBeNull();
      expectMessage(offer.problem!, c, `${urlOf(c)}manifest.json`);
    }
  }, 60_000);
});

/** A stream of `chunks` pieces of `size` bytes each (endless when `chunks` is Infinity), counting what was pulled. */
function streamed(size: number, chunks: number): { body: ReadableStream<Uint8Array>; sent: () => number } {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= chunks) return controller.close();
      sent++;
      controller.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
  return { body, sent: () => sent };
}

describe('readCapped (the one capped reader)', () => {
  const tooBig = (n: number) => new Error(`at least ${n} bytes`);
  it('reads a body under the cap, whole', async () => {
    expect((await readCapped(streamed(10, 3).body, 100, tooBig)).byteLength).toBe(30);
  });
  it('refuses an endless body once it passes the cap, without reading on', async () => {
    const { body, sent } = streamed(1 << 16, Infinity);
    await expect(readCapped(body, 1 << 20, tooBig)).rejects.toThrow(/at least \d+ bytes/);
    expect(sent()).toBeLessThanOrEqual(18);
  });
  it('refuses a declared size over the cap before reading', async () => {
    const { body, sent } = streamed(10, 3);
    await expect(readCapped(body, 1 << 20, tooBig, 4e9)).rejects.toThrow('at least 4000000000 bytes');
    expect(sent()).toBeLessThanOrEqual(1);
  });
});
