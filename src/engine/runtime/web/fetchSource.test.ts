import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadProgress } from '../../editor';
import { EditError } from '../../errors';
import { validateManifest } from '../../manifest';
import type { ManifestFile } from '../../manifest';
import { fetchSource } from './fetchSource';

const TINY = fileURLToPath(new URL('../../../../public/models/tiny-random/', import.meta.url));
const manifest = validateManifest(JSON.parse(readFileSync(`${TINY}manifest.json`, 'utf8')));
const tokenizers = manifest.files.filter((f) => f.path.startsWith('tokenizer_clip/'));

/** Serves tiny-random, with one file's bytes altered when `damaged` names it. */
let server: Server;
let base = '';
let damaged = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice(1));
    try {
      const bytes = readFileSync(`${TINY}${path}`);
      if (path === damaged) bytes[0] = bytes[0]! ^ 0xff;
      res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('fetchSource (the web entry’s file source, on node’s fetch and WebCrypto)', () => {
  it('fetches and verifies the files, reports progress to the total, and reads ranges', async () => {
    damaged = '';
    const seen: LoadProgress[] = [];
    const source = fetchSource(base.slice(0, -1), (p) => seen.push(p));
    await source.prepare(tokenizers);
    const total = tokenizers.reduce((s, f) => s + f.bytes, 0);
    expect(seen.at(-1)).toEqual({ loaded: total, total });
    const f = tokenizers[0]!;
    expect(await source.read(f)).toEqual(new Uint8Array(readFileSync(`${TINY}${f.path}`)));
    expect(Array.from(await source.read(f, { start: 2, end: 6 }))).toEqual(
      Array.from(readFileSync(`${TINY}${f.path}`).subarray(2, 6)),
    );
  });

  it('refuses a file whose bytes differ from the manifest, naming it', async () => {
    damaged = tokenizers[1]!.path;
    const err = await fetchSource(base)
      .prepare(tokenizers)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EditError);
    expect((err as EditError).code).toBe('checksum-mismatch');
    expect((err as Error).message).toContain(damaged);
  });

  it('refuses a file the server does not have', async () => {
    const missing: ManifestFile = { path: 'nowhere/file.bin', bytes: 4, sha256: '0'.repeat(64) };
    await expect(fetchSource(base).prepare([missing])).rejects.toThrow(/HTTP 404/);
  });
});
