/**
 * Model packages from hostile servers and oversized files: the CLI against real local HTTP
 * servers (one that stalls, one that cuts a file short, one that sends an endless manifest, one
 * that answers with a web page) and against oversized local files. Each must end with one clear
 * line, quickly, and leave nothing half-downloaded in the cache.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  ftruncateSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from './edit';
import { hasTiny, TINY } from '../src/engine/runtime/node/internal';

const dir = mkdtempSync(join(tmpdir(), 'editmgt-dl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const image = join('e2e', 'fixtures', 'photos', 'chelsea.png');
const STEP = 'fp32/transformer_step.onnx';

type Handler = (path: string, req: IncomingMessage, res: ServerResponse) => void;

/** Serves the tiny package, letting `override` answer some paths its own way. */
function packageServer(override: Handler = () => undefined): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/pkg\//, '');
    override(path, req, res);
    if (res.headersSent || res.writableEnded) return;
    const file = join(TINY, path);
    if (path.includes('..') || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () =>
      ok({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pkg/`, server }),
    ),
  );
}

const servers: Server[] = [];
async function serve(override?: Handler): Promise<string> {
  const s = await packageServer(override);
  servers.push(s.server);
  return s.url;
}

async function edit(
  model: string,
  out = join(dir, 'out.png'),
): Promise<{ code: number; lines: string[]; ms: number }> {
  const lines: string[] = [];
  const t0 = performance.now();
  const code = await main(
    ['--image', image, '--prompt', 'make it red', '--out', out, '--steps', '2', '--model', model, '--quiet'],
    (l) => lines.push(l),
  );
  return { code, lines, ms: performance.now() - t0 };
}

/** Every file under the cache, to show no partial download is left behind. */
function cacheFiles(root: string): string[] {
  return existsSync(root) ? readdirSync(root, { recursive: true, encoding: 'utf8' }) : [];
}

describe.skipIf(!hasTiny)('model packages from servers and files that misbehave', () => {
  let cache = '';
  beforeAll(() => {
    process.env['EDITMGT_STALL_SECONDS'] = '1';
  });
  afterEach(() => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });
  afterAll(() => {
    delete process.env['EDITMGT_STALL_SECONDS'];
    delete process.env['EDITMGT_CACHE'];
  });
  const freshCache = () => {
    cache = mkdtempSync(join(dir, 'cache-'));
    process.env['EDITMGT_CACHE'] = cache;
  };

  it('edits with a package served over HTTP and caches its files', async () => {
    freshCache();
    const r = await edit(await serve());
    expect(r).toMatchObject({ code: 0, lines: [] });
    expect(cacheFiles(cache).some((f) => f.endsWith('transformer_step.onnx'))).toBe(true);
  });

  it('gives up on a server that sends half a graph and goes quiet, naming the file, and keeps no partial file', async () => {
    freshCache();
    const url = await serve((path, _req, res) => {
      if (path !== STEP) return;
      const bytes = readFileSync(join(TINY, STEP));
      res.writeHead(200, { 'content-length': String(bytes.length) });
      res.write(bytes.subarray(0, bytes.length >> 1)); // …and never the rest
    });
    const r = await edit(url);
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/transformer_step\.onnx stalled: no data for 1 s/);
    expect(r.ms).toBeLessThan(10_000);
    expect(cacheFiles(cache).filter((f) => f.includes('transformer_step'))).toEqual([]);
    expect(cacheFiles(cache).filter((f) => f.endsWith('manifest.json'))).toEqual([]); // the cache never claims a package it lacks
  }, 20_000);

  it('refuses a graph cut short by the server, then downloads it whole once the server mends', async () => {
    freshCache();
    let broken = true;
    const url = await serve((path, _req, res) => {
      if (path !== STEP || !broken) return;
      const bytes = readFileSync(join(TINY, STEP));
      res.writeHead(200, { 'content-length': String(bytes.length) });
      res.write(bytes.subarray(0, 1000));
      setTimeout(() => res.destroy(), 50);
    });
    const r = await edit(url);
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/transformer_step\.onnx/);
    expect(cacheFiles(cache).filter((f) => f.includes('transformer_step'))).toEqual([]);
    // a partial file left by a killed process (its pid no longer runs) is cleared by the next download
    const folder = join(cache, dirname(cacheFiles(cache).find((f) => f.endsWith('fp32/text_clip.onnx'))!));
    const stale = join(folder, 'transformer_step.onnx.2147483646-0badf00d.part');
    writeFileSync(stale, 'half a graph');
    broken = false;
    const again = await edit(url);
    expect(again).toMatchObject({ code: 0, lines: [] });
    expect(existsSync(stale)).toBe(false);
  }, 20_000);

  it('refuses an endless manifest after 16 MiB, and a declared 4 GB one at once', async () => {
    freshCache();
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const url = await serve((path, _req, res) => {
      if (path !== 'manifest.json') return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"name": "');
      let sent = 0;
      const more = () => {
        while (sent < 64 && res.write(chunk)) sent++;
        if (sent < 64) res.once('drain', more);
        else res.end('"}');
      };
      more();
    });
    const before = process.memoryUsage().rss;
    const r = await edit(url);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /manifest\.json is too large: at least \d+ bytes, where such a file may be at most 16 MiB\. Is this a model package URL\?/,
      ),
    ]);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 2 ** 20);

    const declared = await serve((path, _req, res) => {
      if (path !== 'manifest.json') return;
      res.writeHead(200, { 'content-length': String(4 * 2 ** 30) });
      res.write('{');
    });
    const d = await edit(declared);
    expect(d.lines).toEqual([
      expect.stringMatching(
        /manifest\.json is too large: at least 4294967296 bytes, where such a file may be at most 16 MiB/,
      ),
    ]);
  }, 30_000);

  it('refuses a graph declared at 1e15 bytes before fetching any file, naming it and the limit', async () => {
    freshCache();
    const asked: string[] = [];
    const m = JSON.parse(readFileSync(join(TINY, 'manifest.json'), 'utf8')) as {
      files: { path: string; bytes: number }[];
    };
    for (const f of m.files) if (f.path.endsWith('/transformer_step.onnx')) f.bytes = 1e15;
    const url = await serve((path, _req, res) => {
      asked.push(path);
      if (path === 'manifest.json') res.writeHead(200).end(JSON.stringify(m));
      else if (path.endsWith('transformer_step.onnx')) {
        // a server that would stream without end (bounded here at 64 MiB, in case it is asked)
        res.writeHead(200);
        const chunk = Buffer.alloc(1 << 20);
        let sent = 0;
        const more = () => {
          while (sent < 64 && !res.destroyed && res.write(chunk)) sent++;
          if (sent < 64 && !res.destroyed) res.once('drain', more);
          else res.end();
        };
        more();
      }
    });
    const r = await edit(url);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /^edit: model file \w+\/transformer_step\.onnx is declared as 909\.5 TiB; a package file may be at most 4 GiB$/,
      ),
    ]);
    expect(asked).toEqual(['manifest.json']);
    expect(cacheFiles(cache).filter((f) => f.includes('.'))).toEqual([]);
  });

  it('downloads into --cache-dir when it is given, not into EDITMGT_CACHE', async () => {
    freshCache();
    const chosen = mkdtempSync(join(dir, 'chosen-'));
    const url = await serve();
    const lines: string[] = [];
    const args = ['--image', image, '--prompt', 'make it red', '--out', join(dir, 'out.png'), '--steps', '1'];
    const code = await main([...args, '--model', url, '--cache-dir', chosen, '--quiet'], (l) =>
      lines.push(l),
    );
    expect({ code, lines }).toEqual({ code: 0, lines: [] });
    expect(cacheFiles(chosen).some((f) => f.endsWith('transformer_step.onnx'))).toBe(true);
    expect(cacheFiles(cache)).toEqual([]);
  });

  it('says a web page is not a manifest', async () => {
    freshCache();
    const url = await serve((path, _req, res) => {
      if (path === 'manifest.json')
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!DOCTYPE html>\n<html><body>Welcome</body></html>');
    });
    const r = await edit(url);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /manifest\.json sent a web page, not a model manifest\. Is this a model package URL\?/,
      ),
    ]);
  });

  it('refuses a local manifest over 16 MiB without reading it', async () => {
    const pkg = join(dir, 'huge-manifest');
    cpSync(TINY, pkg, { recursive: true });
    const fd = openSync(join(pkg, 'manifest.json'), 'r+');
    ftruncateSync(fd, 4 * 2 ** 30); // sparse: costs no disk
    closeSync(fd);
    const before = process.memoryUsage().rss;
    const r = await edit(pkg);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /manifest\.json is too large: at least 4294967296 bytes, where such a file may be at most 16 MiB/,
      ),
    ]);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
  });

  it('refuses a tokenizer file declared larger than the tokenizer limit before reading it', async () => {
    const pkg = join(dir, 'huge-tokenizer');
    cpSync(TINY, pkg, { recursive: true });
    const m = JSON.parse(readFileSync(join(pkg, 'manifest.json'), 'utf8')) as {
      files: { path: string; bytes: number }[];
      tokenizers: { llm: { files: string[] } };
    };
    const tj = m.tokenizers.llm.files.find((p) => p.endsWith('tokenizer.json'))!;
    m.files.find((f) => f.path === tj)!.bytes = 1e15;
    writeFileSync(join(pkg, 'manifest.json'), JSON.stringify(m));
    const r = await edit(pkg);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /tokenizer\.json is declared as \d+ bytes; a tokenizer file may be at most 64 MiB/,
      ),
    ]);
  });

  it('names a tokenizer file that is not a tokenizer, even with a matching sha256', async () => {
    const pkg = join(dir, 'garbage-tokenizer');
    cpSync(TINY, pkg, { recursive: true });
    const m = JSON.parse(readFileSync(join(pkg, 'manifest.json'), 'utf8')) as {
      files: { path: string; bytes: number; sha256: string }[];
      tokenizers: { clip: { files: string[] } };
    };
    const tj = m.tokenizers.clip.files.find((p) => p.endsWith('tokenizer.json'))!;
    const garbage = Buffer.from('{"model": "not a tokenizer",');
    writeFileSync(join(pkg, tj), garbage);
    Object.assign(
      m.files.find((f) => f.path === tj)!,
      { bytes: garbage.length, sha256: createHash('sha256').update(garbage).digest('hex') },
    );
    writeFileSync(join(pkg, 'manifest.json'), JSON.stringify(m));
    const r = await edit(pkg);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([expect.stringMatching(/the tokenizer .*tokenizer\.json cannot be loaded/)]);
  });

  it('takes a file: URL as the folder it names', async () => {
    const r = await edit(pathToFileURL(TINY).href);
    expect(r).toMatchObject({ code: 0, lines: [] });
    const other = await edit('file://some-host/models/tiny');
    expect(other.code).toBe(2);
    expect(other.lines).toEqual([expect.stringMatching(/not a usable file URL/)]);
  });
});
