/**
 * Downloads the library makes (`EditMGT.fromPretrained(url)`) against a real local HTTP server:
 * no file over MAX_PACKAGE_FILE_BYTES is fetched or kept, a server that streams without end is cut
 * off at the file's limit with nothing left behind, and a package the cache's disk cannot hold is
 * refused (a real statfs of a real folder) before any of it is downloaded.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  cacheRoot,
  checkDownloadSpace,
  checkFreeSpace,
  downloadFile,
  FREE_SPACE_MARGIN_BYTES,
  freeBytes,
  MAX_PACKAGE_FILE_BYTES,
} from './download';
import { EditMGT } from './index';

const TINY = fileURLToPath(new URL('../../../../public/models/tiny-random', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'editmgt-node-dl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CHUNK = 2 ** 31 - 1; // the largest graph chunk a manifest may declare

/** The parts of a manifest these tests rewrite. */
interface RawManifest {
  files: { path: string; bytes: number; sha256: string }[];
  dtypes: Record<string, { graphs: Record<string, { file: string; external_data?: string[] }> }>;
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** Sends zeros until the client goes away, or until `limit` bytes, without a content-length. */
function endless(res: ServerResponse, limit = Infinity): void {
  const chunk = Buffer.alloc(1 << 16);
  let sent = 0;
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const more = () => {
    while (sent < limit && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end();
  };
  res.on('close', () => (sent = limit));
  more();
}

/**
 * Serves the tiny package at /pkg/ with `edit` applied to its manifest; `answer` may answer a
 * path its own way. Records every path asked for.
 */
async function serve(
  edit: (m: RawManifest) => void,
  answer: (path: string, res: ServerResponse) => boolean = () => false,
): Promise<{ url: string; asked: string[] }> {
  const manifest = JSON.parse(readFileSync(join(TINY, 'manifest.json'), 'utf8')) as RawManifest;
  edit(manifest);
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/pkg\//, '');
    asked.push(path);
    if (answer(path, res)) return;
    if (path === 'manifest.json') return void res.writeHead(200).end(JSON.stringify(manifest));
    const file = join(TINY, path);
    if (path.includes('..') || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(file));
  });
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pkg/`, asked };
}

/** Declares `count` extra chunks of `bytes` each for the fp32 text encoder (sha256s that nothing will match). */
function addChunks(m: RawManifest, count: number, bytes: number): void {
  const graph = m.dtypes['fp32']!.graphs['text_llm']!;
  const chunks = Array.from({ length: count }, (_, i) => `fp32/text_llm.onnx.extra_${i}`);
  graph.external_data = [...(graph.external_data ?? []), ...chunks];
  for (const path of chunks) m.files.push({ path, bytes, sha256: 'ab'.repeat(32) });
}

const filesUnder = (root: string) =>
  existsSync(root) ? readdirSync(root, { recursive: true, encoding: 'utf8' }) : [];

describe('package downloads in node: bounded per file and by the disk', () => {
  it('states its limits: 4 GiB per file (over the 2.2 GiB fp32 token table), 256 MiB kept free', () => {
    expect(MAX_PACKAGE_FILE_BYTES).toBe(4 * 2 ** 30);
    expect(MAX_PACKAGE_FILE_BYTES).toBeGreaterThan(256_000 * 2304 * 4);
    expect(FREE_SPACE_MARGIN_BYTES).toBe(256 * 2 ** 20);
  });

  it('refuses a file declared over the limit before fetching any file, naming it', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const { url, asked } = await serve(
      (m) => void (m.files.find((f) => f.path === 'fp32/transformer_step.onnx')!.bytes = 1e15),
      (path, res) => (path.endsWith('transformer_step.onnx') ? (endless(res, 64 << 20), true) : false),
    );
    const t0 = performance.now();
    const err = await EditMGT.fromPretrained(url, { dtype: 'fp32', cacheDir: cache }).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      'model file fp32/transformer_step.onnx is declared as 909.5 TiB; a package file may be at most 4 GiB',
    );
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(asked).toEqual(['manifest.json']);
    expect(filesUnder(cache).filter((f) => f.includes('.'))).toEqual([]);
  });

  it('refuses a package larger than the free space of the cache folder’s disk, before any download', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const free = freeBytes(cache);
    const count = Math.ceil((free + 8 * 2 ** 30) / CHUNK);
    const { url, asked } = await serve((m) => addChunks(m, count, CHUNK));
    const err = await EditMGT.fromPretrained(url, { dtype: 'fp32', cacheDir: cache }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^not enough disk space for the model package \\(\\d+ files, the largest fp32/text_llm\\.onnx\\.extra_0 at 2\\.0 GiB\\): [\\d.]+ [KMGT]iB to download into ${cache.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\S+ \\(and 256 MiB kept free\\), but its disk has [\\d.]+ [KMGT]iB free; free some space or choose another cache folder \\(--cache-dir, or EDITMGT_CACHE\\)$`,
      ),
    );
    expect(asked).toEqual(['manifest.json']);
    expect(filesUnder(cache).filter((f) => f.includes('.'))).toEqual([]);
  });

  it('measures the space with a real statfs: a need over the free space is refused, one under it passes', () => {
    const s = statfsSync(tmpdir());
    const free = s.bavail * s.bsize;
    expect(() => checkFreeSpace(tmpdir(), free + 1, 'the test file')).toThrow(
      /^not enough disk space for the test file: .* but its disk has .* free/,
    );
    expect(() => checkFreeSpace(tmpdir(), 1, 'the test file')).not.toThrow();
    // a folder that does not exist yet is measured on the disk that will hold it
    expect(() => checkFreeSpace(join(dir, 'not', 'yet'), free + 1, 'x')).toThrow(/not enough disk space/);
    // files already in the cache at their size need no space
    const files = [
      { path: 'manifest.json', bytes: readFileSync(join(TINY, 'manifest.json')).length, sha256: '' },
    ];
    expect(() => checkDownloadSpace(TINY, files)).not.toThrow();
  });

  it('cuts off a server that streams without end at the file’s limit, and keeps nothing of it', async () => {
    const to = join(mkdtempSync(join(dir, 'stream-')), 'fp32', 'graph.onnx');
    const { url } = await serve(
      () => undefined,
      (_path, res) => (endless(res, 256 << 20), true),
    );
    // declared within the cap: stopped at the declared size
    const declared = await downloadFile(`${url}graph.onnx`, to, {
      path: 'fp32/graph.onnx',
      bytes: 3 << 20,
      sha256: 'ab'.repeat(32),
    }).catch((e: Error) => e);
    expect((declared as Error).message).toMatch(/^the fp32\/graph\.onnx http:.* is over 3 MiB, the limit$/);
    // declared over the cap: the cap stops the stream (here 5 MiB, so the test writes little)
    const capped = await downloadFile(
      `${url}graph.onnx`,
      to,
      { path: 'fp32/graph.onnx', bytes: 1e15, sha256: 'ab'.repeat(32) },
      5 << 20,
    ).catch((e: Error) => e);
    expect((capped as Error).message).toMatch(/^the fp32\/graph\.onnx http:.* is over 5 MiB, the limit$/);
    expect(readdirSync(join(to, '..'))).toEqual([]);
  }, 30_000);

  it('keeps the cache where the option, else EDITMGT_CACHE, else ~/.cache/editmgt-web says', () => {
    const before = process.env['EDITMGT_CACHE'];
    try {
      process.env['EDITMGT_CACHE'] = join(dir, 'env-cache');
      expect(cacheRoot(join(dir, 'opt'))).toBe(join(dir, 'opt'));
      expect(cacheRoot()).toBe(join(dir, 'env-cache'));
      delete process.env['EDITMGT_CACHE'];
      expect(cacheRoot()).toMatch(/\.cache\/editmgt-web$/);
    } finally {
      if (before === undefined) delete process.env['EDITMGT_CACHE'];
      else process.env['EDITMGT_CACHE'] = before;
    }
  });
});
