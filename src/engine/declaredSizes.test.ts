/**
 * A package file declared over MAX_PACKAGE_FILE_BYTES is refused by the one opener before any
 * file is downloaded, whatever the source: the node folder and URL sources (the CLI, the node
 * library) and the web fetch source (the web library, the same rule as the app's worker, which
 * opens through the same door). The server counts every request it gets.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Editor } from './editor';
import { MAX_PACKAGE_FILE_BYTES } from './manifest';
import { cpuOptions, packageSource } from './runtime/node/modelPackage';
import { fetchSource } from './runtime/web/fetchSource';

const TINY = resolve('public/models/tiny-random');
let dir = '';
let server: Server;
let origin = '';
let requests: string[] = [];
let huge = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'editmgt-declared-'));
  cpSync(TINY, join(dir, 'pkg'), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(TINY, 'manifest.json'), 'utf8')) as {
    files: { path: string; bytes: number }[];
  };
  // a graph file of a dtype this test does not ask for (chunks have their own, lower, limit)
  const file = manifest.files.find((f) => f.path === 'q8/transformer_step.onnx')!;
  huge = file.path;
  file.bytes = MAX_PACKAGE_FILE_BYTES + 2 ** 30;
  writeFileSync(join(dir, 'pkg', 'manifest.json'), JSON.stringify(manifest));
  server = createServer((req, res) => {
    requests.push(req.url!);
    res.setHeader('access-control-allow-origin', '*');
    try {
      res
        .writeHead(200)
        .end(readFileSync(join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname))));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const message = () => `model file ${huge} is declared as 5 GiB; a package file may be at most 4 GiB`;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => 'opened',
    (err: Error) => err.message,
  );

describe('a file declared over the package file cap', () => {
  it('is refused by the node folder source before any file is read', async () => {
    expect(await failure(Editor.open(packageSource(join(dir, 'pkg')), cpuOptions('fp32')))).toBe(message());
  });

  it('is refused by the node URL source with only the manifest fetched', async () => {
    requests = [];
    const got = await failure(
      Editor.open(packageSource(`${origin}/pkg/`, join(dir, 'cache')), cpuOptions('fp32')),
    );
    expect(got).toBe(message());
    expect(requests).toEqual(['/pkg/manifest.json']);
  });

  it('is refused by the web fetch source with only the manifest fetched', async () => {
    requests = [];
    const got = await failure(
      Editor.open(fetchSource(`${origin}/pkg/`), {
        device: 'wasm',
        dtype: 'fp32',
        runtime: () => Promise.reject(new Error('no graph is reached in this test')),
        makeEncoder: () => {
          throw new Error('no tokenizer is reached in this test');
        },
      }),
    );
    expect(got).toBe(message());
    expect(requests).toEqual(['/pkg/manifest.json']);
  });
});
