/**
 * The browser's hub source (fetch following redirects itself) against a real local server that
 * behaves like the hub and its storage host (testing/hubServer.ts, with CORS): what a repository
 * holds and its sizes, ranges through the storage redirect, the token sent to the hub's origin
 * only, a gated repository without a token, with a wrong one and with one lacking access, a
 * repository that does not exist, 429 retried, a body broken mid-way resumed. No network.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hubRepoKind } from '../../hub/hubRepo';
import { HubError } from '../../hub/hubRules';
import { startHubServer } from '../node/convert/testing/hubServer';
import type { HubServer } from '../node/convert/testing/hubServer';
import { hubHeaders, webHubSource } from './hubSource';
import type { WebHubOptions } from './hubSource';

const TINY = fileURLToPath(new URL('../../../../public/models/tiny-random/', import.meta.url));
const TOKEN = 'hf_webT0kenValue0987654321abcdef';
const BIG = 'fp32/transformer_step.onnx.data';

let ckpt: string;
beforeAll(() => {
  ckpt = mkdtempSync(join(tmpdir(), 'editmgt-webhub-'));
  mkdirSync(join(ckpt, 'vqvae'));
  writeFileSync(join(ckpt, 'model_index.json'), '{"_class_name": "Pipeline"}\n');
  writeFileSync(join(ckpt, 'vqvae/config.json'), '{}\n');
});
afterAll(() => rmSync(ckpt, { recursive: true, force: true }));

let server: HubServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: { root?: string; gatedToken?: string; knownTokens?: string[] } = {}) {
  server = await startHubServer({
    root: TINY,
    repo: 'owner/tiny',
    lfsMinBytes: 1024,
    pageSize: 7,
    ...options,
  });
  return server;
}
const opts = (s: HubServer, extra: WebHubOptions = {}): WebHubOptions => ({
  endpoint: s.endpoint,
  baseDelayMs: 20,
  ...extra,
});
const failure = async (p: Promise<unknown>): Promise<Error> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
};

describe('web hub source', () => {
  it('a package repository: its commit, every file with its size, and what it holds', async () => {
    const s = await start();
    const repo = await webHubSource('hf:owner/tiny', opts(s));
    expect(repo.commit).toBe(s.commit);
    expect(repo.kind).toBe('package');
    expect(repo.base).toBe(`${s.endpoint}/owner/tiny/resolve/${s.commit}/`);
    const files = await repo.list();
    expect(files).toContain('manifest.json');
    for (const f of files) expect(repo.sizes.get(f)).toBe(statSync(join(TINY, f)).size);
    // listed over several pages (7 entries a page)
    expect(s.requests.filter((r) => r.url.includes('/tree/')).length).toBeGreaterThan(1);
    const manifest = await repo.readFile('manifest.json');
    expect(Buffer.from(manifest).equals(readFileSync(join(TINY, 'manifest.json')))).toBe(true);
  });

  it('a checkpoint repository is told apart from a package', async () => {
    const s = await start({ root: ckpt });
    expect((await webHubSource('hf:owner/tiny@main', opts(s))).kind).toBe('checkpoint');
    expect(hubRepoKind(['README.md', 'a.txt'])).toBe('unknown');
  });

  it('reads a range of a large file through the redirect to the storage host', async () => {
    const s = await start();
    const repo = await webHubSource('hf:owner/tiny', opts(s));
    const file = await repo.open(BIG);
    const want = readFileSync(join(TINY, BIG));
    const got = await file.read(1000, 5000);
    expect(Buffer.from(got).equals(want.subarray(1000, 5000))).toBe(true);
    const storage = s.requests.filter((r) => r.server === 'storage');
    expect(storage.map((r) => r.headers.range)).toEqual(['bytes=1000-4999']);
  });

  it('the token goes to the hub only, never to the storage host a redirect leads to', async () => {
    const s = await start({ gatedToken: TOKEN });
    const repo = await webHubSource('hf:owner/tiny', opts(s, { token: TOKEN }));
    const got = await (await repo.open(BIG)).read(0, 2048);
    expect(Buffer.from(got).equals(readFileSync(join(TINY, BIG)).subarray(0, 2048))).toBe(true);
    const hub = s.requests.filter((r) => r.server === 'hub');
    const storage = s.requests.filter((r) => r.server === 'storage');
    expect(hub.length).toBeGreaterThan(0);
    expect(storage.length).toBeGreaterThan(0);
    for (const r of hub) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    for (const r of storage) {
      expect(r.headers.authorization).toBeUndefined();
      expect(JSON.stringify(r)).not.toContain(TOKEN);
    }
  });

  it('a gated repository without a token says how to get access and where the token goes', async () => {
    const s = await start({ gatedToken: TOKEN });
    const repo = await webHubSource('hf:owner/tiny', opts(s));
    const err = await failure(repo.readFile('manifest.json'));
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).status).toBe(401);
    expect((err as HubError).code).toBe('GatedRepo');
    expect(err.message).toContain('The repository is gated or private');
    expect(err.message).toContain(`open ${s.endpoint}/owner/tiny, sign in and accept its licence`);
    expect(err.message).toContain(`create a read token at ${s.endpoint}/settings/tokens`);
    expect(err.message).toContain('paste it into the token field');
  });

  it('a wrong token, and one without access, each get their own message with no token in it', async () => {
    const other = 'hf_otherValidTokenWithoutAccess42';
    const s = await start({ gatedToken: TOKEN, knownTokens: [other] });
    const wrong = 'hf_wrongRevokedToken000000000000';
    const bad = await failure(
      (await webHubSource('hf:owner/tiny', opts(s, { token: wrong }))).readFile('manifest.json'),
    );
    expect(bad.message).toContain(
      'the hub did not accept the token in the token field (HTTP 401 Unauthorized',
    );
    expect(bad.message).toContain('mistyped, expired or revoked');
    expect(bad.message).not.toContain(wrong);
    const denied = await failure(
      (await webHubSource('hf:owner/tiny', opts(s, { token: other }))).readFile('manifest.json'),
    );
    expect(denied.message).toContain('(HTTP 403 GatedRepo');
    expect(denied.message).toContain('that token has no access to this repository');
    expect(denied.message).not.toContain(other);
  });

  it('a repository that does not exist, and a revision that does not', async () => {
    const s = await start();
    const missing = await failure(webHubSource('hf:owner/nothing', opts(s)));
    expect(missing.message).toBe(
      `hf:owner/nothing@main: there is no repository hf:owner/nothing on ${s.endpoint} (HTTP 404 RepoNotFound: Repository not found); if it is private, give a token that has access to it`,
    );
    const rev = await failure(webHubSource('hf:owner/tiny@v9', opts(s)));
    expect(rev.message).toContain('hf:owner/tiny has no such revision (HTTP 404 RevisionNotFound');
  });

  it('429 with Retry-After is waited for and retried; 5xx without end gives up after the tries', async () => {
    const s = await start();
    s.inject('/revision/', { kind: 'status', status: 429, retryAfter: '1' });
    const retries: string[] = [];
    const t0 = Date.now();
    const repo = await webHubSource('hf:owner/tiny', opts(s, { onRetry: (m) => retries.push(m) }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(repo.commit).toBe(s.commit);
    expect(retries).toEqual(['hf:owner/tiny@main: HTTP 429; try 2 of 5 in 1.0 s']);
    const few = await webHubSource('hf:owner/tiny', opts(s, { maxTries: 3 }));
    s.inject('manifest.json', { kind: 'status', status: 503 }, 10);
    const err = await failure(few.readFile('manifest.json'));
    expect(err.message).toMatch(/manifest\.json bytes 0–\d+: HTTP 503, 3 tries in all; giving up$/);
  }, 20_000);

  it('a body broken mid-way is resumed from the byte reached', async () => {
    const s = await start();
    const repo = await webHubSource('hf:owner/tiny', opts(s));
    s.inject(/^\/repos\//, { kind: 'drop', afterBytes: 3000 });
    const got = await (await repo.open(BIG)).read(0, 8000);
    expect(Buffer.from(got).equals(readFileSync(join(TINY, BIG)).subarray(0, 8000))).toBe(true);
    const ranges = s.requests.filter((r) => r.server === 'storage').map((r) => r.headers.range);
    expect(ranges[0]).toBe('bytes=0-7999');
    expect(ranges.at(-1)).toMatch(/^bytes=[1-9]\d*-7999$/);
  });

  it('a server that ignores Range (200, the whole file) is read past the bytes before the range, as on node', async () => {
    const s = await start();
    const repo = await webHubSource('hf:owner/tiny', opts(s));
    const file = await repo.open(BIG);
    s.inject(/^\/repos\//, { kind: 'ignore-range' });
    const got = await file.read(300_000, 300_100);
    expect(Buffer.from(got).equals(readFileSync(join(TINY, BIG)).subarray(300_000, 300_100))).toBe(true);
    const storage = s.requests.filter((r) => r.server === 'storage');
    expect(storage.map((r) => r.status)).toEqual([200]);
  });
});

describe('hubHeaders (the package download of a gated repository)', () => {
  it('adds the token for the hub origin only, and nothing without a token', () => {
    const headers = hubHeaders({ origin: 'https://huggingface.co', token: ` ${TOKEN} ` });
    expect(headers('https://huggingface.co/o/r/resolve/abc/manifest.json')).toEqual({
      Authorization: `Bearer ${TOKEN}`,
    });
    expect(headers('https://cas-bridge.xethub.hf.co/xet/abc?sig=1')).toEqual({});
    expect(headers('https://huggingface.co.evil.example/o/r')).toEqual({});
    expect(headers('http://huggingface.co/o/r')).toEqual({});
    expect(headers('not a url')).toEqual({});
    expect(hubHeaders(undefined)('https://huggingface.co/x')).toEqual({});
    expect(hubHeaders({ origin: 'https://huggingface.co', token: '  ' })('https://huggingface.co/x')).toEqual(
      {},
    );
  });
});
