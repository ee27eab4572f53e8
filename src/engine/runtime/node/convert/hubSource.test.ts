/**
 * The hub source against a real local HTTP server that behaves like the hub (testing/hubServer.ts):
 * API listing with pages, the commit pinned from the first answer, redirects of large files to
 * another host and path, 206 ranges, a gated repository (401 without a token, 403 with another),
 * 429 with Retry-After (seconds and date), 5xx, a connection dropped mid-body, a changed ETag, a
 * server that ignores ranges. No network.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensorsHeader, readTensorFloat32, readTensorRows } from '../../../convert/safetensors';
import { f32Bytes, writeSafetensors } from '../../../convert/testing/safetensorsWriter';
import { hubSource, parseHubSpec } from './hubSource';
import type { HubSourceOptions } from './hubSource';
import { retryAfterMs } from './hubHttp';
import { startHubServer } from './testing/hubServer';
import type { HubServer } from './testing/hubServer';

const REPO = 'owner/model';
const TOKEN = 'hf_s3cr3tT0kenValue1234567890';
const VALUES = Array.from({ length: 64 * 256 }, (_, i) => Math.sin(i) * 100);
let root: string;
let bigFile: Buffer;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'editmgt-hub-'));
  mkdirSync(join(root, 'text_encoder'));
  mkdirSync(join(root, 'scheduler'));
  writeFileSync(join(root, 'model_index.json'), '{"_class_name": "Pipeline"}\n');
  writeFileSync(join(root, 'scheduler/scheduler_config.json'), '{"mask_token_id": 8255}\n');
  writeFileSync(join(root, 'text_encoder/config.json'), JSON.stringify({ hidden_size: 256 }));
  bigFile = Buffer.from(
    writeSafetensors([{ name: 'w', dtype: 'F32', shape: [64, 256], data: f32Bytes(VALUES) }]),
  );
  writeFileSync(join(root, 'text_encoder/model.safetensors'), bigFile);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let server: HubServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: { gatedToken?: string; knownTokens?: string[]; pageSize?: number } = {}) {
  server = await startHubServer({ root, repo: REPO, lfsMinBytes: 1024, ...options });
  return server;
}
const opts = (s: HubServer, extra: HubSourceOptions & { token?: string } = {}): HubSourceOptions => ({
  env: { HF_ENDPOINT: s.endpoint, ...(extra.token ? { HF_TOKEN: extra.token } : {}) },
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
const storageReads = (s: HubServer) => s.requests.filter((r) => r.server === 'storage');

describe('hf: specs', () => {
  it('owner/repo with an optional revision', () => {
    expect(parseHubSpec('hf:WeiChow/EditMGT')).toEqual({ repo: 'WeiChow/EditMGT', revision: 'main' });
    expect(parseHubSpec('hf:a/b@refs/pr/1')).toEqual({ repo: 'a/b', revision: 'refs/pr/1' });
    expect(() => parseHubSpec('hf:EditMGT')).toThrow(
      'expected hf:owner/repo[@revision], e.g. hf:WeiChow/EditMGT',
    );
    expect(() => parseHubSpec('hf:a/b@')).toThrow("the revision after '@' is empty");
    expect(() => parseHubSpec('hf:../x/y')).toThrow('expected hf:owner/repo');
  });

  it('Retry-After in seconds or as an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(
      5000,
    );
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

describe('hub source', () => {
  it('lists every file through the API (all pages) and pins the revision to the commit', async () => {
    const s = await start({ pageSize: 2 });
    const src = await hubSource(`hf:${REPO}`, opts(s));
    expect(src.commit).toBe(s.commit);
    expect(await src.list()).toEqual([
      'model_index.json',
      'scheduler/scheduler_config.json',
      'text_encoder/config.json',
      'text_encoder/model.safetensors',
    ]);
    const api = s.requests.filter((r) => r.url.startsWith('/api/')).map((r) => r.url);
    expect(api[0]).toBe(`/api/models/${REPO}/revision/main`);
    expect(api.slice(1)).toEqual([
      `/api/models/${REPO}/tree/${s.commit}?recursive=true`,
      `/api/models/${REPO}/tree/${s.commit}?recursive=true&cursor=2`,
    ]);
    await (await src.open('model_index.json')).read(0, 5);
    expect(s.requests.at(-1)!.url).toBe(`/${REPO}/resolve/${s.commit}/model_index.json`);
  });

  it('reads small files from the hub and large ones through the redirect, by range', async () => {
    const s = await start();
    const src = await hubSource(`hf:${REPO}@main`, opts(s, { token: TOKEN }));
    const small = await src.open('scheduler/scheduler_config.json');
    expect(Buffer.from(await small.read(2, 15)).toString()).toBe('mask_token_id');
    const big = await src.open('text_encoder/model.safetensors');
    expect(big.size).toBe(bigFile.length);
    const st = await readSafetensorsHeader(big);
    expect(Array.from(await readTensorFloat32(st, 'w'))).toEqual(Array.from(Float32Array.from(VALUES)));
    expect(Array.from(await readTensorRows(st, 'w', 10, 12))).toEqual(
      Array.from(Float32Array.from(VALUES.slice(2560, 3072))),
    );
    const storage = storageReads(s);
    expect(storage.length).toBeGreaterThanOrEqual(3);
    expect(storage.every((r) => r.status === 206 && r.url.startsWith('/repos/') && r.headers.range)).toBe(
      true,
    );
    // the token went to the hub, never to the storage host
    expect(
      s.requests
        .filter((r) => r.server === 'hub')
        .every((r) => r.headers.authorization === `Bearer ${TOKEN}`),
    ).toBe(true);
    expect(storage.some((r) => r.headers.authorization !== undefined)).toBe(false);
    expect(src.bytesRead()).toBeGreaterThan(8);
  });

  it('a gated repository: 401 without a token or with an invalid one, 403 with one without access; each says what to do', async () => {
    const s = await start({ gatedToken: TOKEN, knownTokens: ['hf_wrong'] });
    const none = await hubSource(`hf:${REPO}`, opts(s));
    const e401 = await failure((await none.open('text_encoder/config.json')).read(0, 4));
    expect(e401.message).toContain('the hub refused access to hf:owner/model (HTTP 401 GatedRepo');
    expect(e401.message).toContain(`open ${s.endpoint}/owner/model, sign in and accept its licence`);
    expect(e401.message).toContain('set it in the HF_TOKEN environment variable');
    const invalid = await hubSource(`hf:${REPO}`, opts(s, { token: 'hf_invalid' }));
    const bad = await failure((await invalid.open('text_encoder/config.json')).read(0, 4));
    expect(bad.message).toContain('the hub did not accept the token in HF_TOKEN (HTTP 401 Unauthorized');
    expect(bad.message).toContain(`Create a read token at ${s.endpoint}/settings/tokens, set HF_TOKEN to it`);
    const wrong = await hubSource(`hf:${REPO}`, opts(s, { token: 'hf_wrong' }));
    const e403 = await failure((await wrong.open('text_encoder/config.json')).read(0, 4));
    expect(e403.message).toContain('(HTTP 403 GatedRepo');
    expect(e403.message).toContain('HF_TOKEN is set, but that token has no access to this repository');
    const right = await hubSource(`hf:${REPO}`, opts(s, { token: TOKEN }));
    expect(Buffer.from(await (await right.open('text_encoder/config.json')).read(0, 4)).toString()).toBe(
      '{"hi',
    );
    // tries are not repeated for an access refusal
    expect(s.requests.filter((r) => r.status === 401 || r.status === 403)).toHaveLength(3);
  });

  it('a 429 with Retry-After in seconds is honoured, then the read goes on', async () => {
    const s = await start();
    const retries: string[] = [];
    const src = await hubSource(`hf:${REPO}`, opts(s, { onRetry: (m) => retries.push(m) }));
    s.inject('/repos/', { kind: 'status', status: 429, retryAfter: '1' });
    const t0 = Date.now();
    const bytes = await (await src.open('text_encoder/model.safetensors')).read(100, 200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(Buffer.from(bytes).equals(bigFile.subarray(100, 200))).toBe(true);
    expect(retries).toEqual([expect.stringContaining('HTTP 429; try 2 of 5 in 1.0 s')]);
  });

  it('a 429 with an HTTP-date Retry-After is honoured; one asking too long ends the read', async () => {
    const s = await start();
    const src = await hubSource(`hf:${REPO}`, opts(s));
    const file = await src.open('text_encoder/config.json');
    s.inject('/resolve/', {
      kind: 'status',
      status: 429,
      retryAfter: new Date(Date.now() + 2000).toUTCString(),
    });
    const t0 = Date.now();
    await file.read(0, 4);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // the date has whole seconds: 1–2 s away
    s.inject('/resolve/', { kind: 'status', status: 429, retryAfter: '3600' });
    expect((await failure(file.read(0, 4))).message).toMatch(
      /HTTP 429, and the server asks to wait 3600 s \(Retry-After\); try again later$/,
    );
  });

  it('5xx answers and failed API calls are retried with backoff, a bounded number of times', async () => {
    const s = await start();
    s.inject('/api/', { kind: 'status', status: 502 });
    const src = await hubSource(`hf:${REPO}`, opts(s, { maxTries: 3 }));
    s.inject('/repos/', { kind: 'status', status: 503 });
    const file = await src.open('text_encoder/model.safetensors');
    expect(Buffer.from(await file.read(0, 8)).equals(bigFile.subarray(0, 8))).toBe(true);
    s.inject('/repos/', { kind: 'status', status: 500 }, 10);
    const before = s.requests.length;
    expect((await failure(file.read(0, 8))).message).toMatch(
      /bytes 0–8: HTTP 500, 3 tries in all; giving up$/,
    );
    expect(s.requests.slice(before).filter((r) => r.status === 500)).toHaveLength(3);
  });

  it('an abort ends a read at once, even while it waits to retry', async () => {
    const s = await start();
    const src = await hubSource(`hf:${REPO}`, opts(s));
    const file = await src.open('text_encoder/model.safetensors');
    s.inject('/repos/', { kind: 'status', status: 429, retryAfter: '30' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stopped by the user')), 200);
    const t0 = Date.now();
    expect((await failure(file.read(0, 100, ac.signal))).message).toBe('stopped by the user');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a connection dropped mid-body resumes from the byte reached', async () => {
    const s = await start();
    const src = await hubSource(`hf:${REPO}`, opts(s));
    const file = await src.open('text_encoder/model.safetensors');
    s.inject('/repos/', { kind: 'drop', afterBytes: 20_000 });
    const bytes = await file.read(1000, 60_000);
    expect(Buffer.from(bytes).equals(bigFile.subarray(1000, 60_000))).toBe(true);
    const ranges = storageReads(s).map((r) => r.headers.range);
    expect(ranges[0]).toBe('bytes=1000-59999');
    const resumed = Number(/^bytes=(\d+)-59999$/.exec(String(ranges[1]))?.[1]);
    expect(resumed).toBeGreaterThan(1000); // not from the start again
    expect(resumed).toBeLessThanOrEqual(21_000);
  });

  it('a body that goes quiet is given up after the stall time and resumed', async () => {
    const s = await start();
    const retries: string[] = [];
    const src = await hubSource(`hf:${REPO}`, opts(s, { stallMs: 300, onRetry: (m) => retries.push(m) }));
    const file = await src.open('text_encoder/model.safetensors');
    s.inject('/repos/', { kind: 'stall', afterBytes: 5000, ms: 20_000 });
    const t0 = Date.now();
    expect(Buffer.from(await file.read(0, 40_000)).equals(bigFile.subarray(0, 40_000))).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(retries).toEqual([expect.stringContaining('no data for 0.3 s')]);
    const ranges = storageReads(s).map((r) => r.headers.range);
    expect(ranges[0]).toBe('bytes=0-39999');
    expect(Number(/^bytes=(\d+)-/.exec(String(ranges[1]))?.[1])).toBeGreaterThan(0);
  });

  it('a file whose ETag changes between reads is refused', async () => {
    const s = await start();
    const src = await hubSource(`hf:${REPO}`, opts(s));
    const file = await src.open('scheduler/scheduler_config.json');
    await file.read(0, 4);
    s.inject('/resolve/', { kind: 'etag', etag: '"another"' });
    expect((await failure(file.read(4, 8))).message).toMatch(
      /scheduler_config\.json changed while it was being read \(ETag "another", before "[0-9a-f]+"\)/,
    );
  });

  it('an answer from another commit, or a file whose size changed, is refused', async () => {
    const s = await start();
    const src = await hubSource(`hf:${REPO}`, opts(s));
    const file = await src.open('text_encoder/model.safetensors');
    s.inject('/resolve/', { kind: 'header', name: 'X-Repo-Commit', value: 'f'.repeat(40) });
    expect((await failure(file.read(0, 4))).message).toBe(
      `${file.name}: the hub served commit ${'f'.repeat(40)}, not the pinned ${s.commit}`,
    );
    s.inject('/repos/', { kind: 'header', name: 'Content-Range', value: `bytes 0-3/${bigFile.length + 1}` });
    expect((await failure(file.read(0, 4))).message).toBe(
      `${file.name} is ${bigFile.length + 1} bytes now, but the listing said ${bigFile.length}`,
    );
  });

  it('a server that ignores Range (200, the whole file) is read past the skipped bytes, or refused beyond the cap', async () => {
    const s = await start();
    const src = await hubSource(`hf:${REPO}`, opts(s, { maxSkipBytes: 10_000 }));
    const file = await src.open('text_encoder/model.safetensors');
    s.inject('/repos/', { kind: 'ignore-range' });
    expect(Buffer.from(await file.read(5000, 6000)).equals(bigFile.subarray(5000, 6000))).toBe(true);
    s.inject('/repos/', { kind: 'ignore-range' });
    expect((await failure(file.read(20_000, 20_004))).message).toContain(
      'the server ignored the Range request (HTTP 200, the whole file); reading this range would download 20000 bytes first',
    );
  });

  it('an unknown repository or revision is named', async () => {
    const s = await start();
    expect((await failure(hubSource('hf:owner/other', opts(s)))).message).toBe(
      `hf:owner/other@main: there is no repository hf:owner/other on ${s.endpoint} (HTTP 404 RepoNotFound: Repository not found); if it is private, set HF_TOKEN`,
    );
    expect((await failure(hubSource(`hf:${REPO}@v9`, opts(s)))).message).toBe(
      'hf:owner/model@v9: hf:owner/model has no such revision (HTTP 404 RevisionNotFound: Invalid rev id)',
    );
    const src = await hubSource(`hf:${REPO}`, opts(s));
    expect((await failure(src.open('nope.json'))).message).toBe(
      `hf:owner/model@${s.commit.slice(0, 12)} has no file nope.json`,
    );
  });

  it('a redirect loop is given up after 10 redirects, naming the file', async () => {
    const s = await start();
    const src = await hubSource(`hf:${REPO}`, opts(s));
    const path = `/${REPO}/resolve/${s.commit}/model_index.json`;
    s.inject(path, { kind: 'redirect', location: path }, 50);
    const before = s.requests.length;
    const err = await failure((async () => (await src.open('model_index.json')).read(0, 5))());
    expect(err.message).toMatch(/model_index\.json.*: more than 10 redirects$/);
    // the first answer and 10 redirects followed, then no more
    expect(s.requests.slice(before).filter((r) => r.url === path)).toHaveLength(11);
  });

  it('an API answer over 64 MiB is refused, whether its length is declared or it just goes on', async () => {
    const s = await start();
    const revision = `/api/models/${REPO}/revision/main`;
    s.inject(revision, { kind: 'header', name: 'Content-Length', value: String(70_000_000) });
    expect((await failure(hubSource(`hf:${REPO}`, opts(s)))).message).toMatch(
      /: the answer is 70000000 bytes$/,
    );
    s.inject(revision, { kind: 'body', bytes: (64 << 20) + 4096 });
    expect((await failure(hubSource(`hf:${REPO}`, opts(s)))).message).toMatch(
      /: the answer is over 67108864 bytes$/,
    );
    // the repository itself is fine: the next listing works
    expect((await hubSource(`hf:${REPO}`, opts(s))).commit).toBe(s.commit);
  });

  it('the token appears in no message and no log line, on every error path', async () => {
    const s = await start({ gatedToken: 'hf_theRightOne', knownTokens: [TOKEN] });
    const logs: string[] = [];
    const errors: Error[] = [];
    const o = opts(s, { token: TOKEN, maxTries: 2, onRetry: (m) => logs.push(m), maxSkipBytes: 10 });
    const collect = async (p: Promise<unknown>) => errors.push(await failure(p));
    await collect(hubSource('hf:owner/other', o)); // 404 repo
    await collect(hubSource(`hf:${REPO}@nope`, o)); // 404 revision
    s.inject('/api/', { kind: 'status', status: 500 }, 2);
    await collect(hubSource(`hf:${REPO}`, o)); // 5xx, tries used up
    s.inject('/api/', { kind: 'status', status: 429, retryAfter: '9999' });
    await collect(hubSource(`hf:${REPO}`, o)); // Retry-After too long
    const src = await hubSource(`hf:${REPO}`, o);
    await collect((await src.open('text_encoder/config.json')).read(0, 4)); // 403 gated
    await collect(src.open('missing.bin'));
    await collect(
      hubSource(`hf:${REPO}`, { ...o, env: { HF_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: TOKEN } }), // refused connection
    );
    await collect(
      hubSource(`hf:${REPO}`, { ...o, env: { HF_ENDPOINT: `not a url ${TOKEN}`, HF_TOKEN: TOKEN } }),
    );
    await server!.close();
    server = await startHubServer({ root, repo: REPO, lfsMinBytes: 1024 });
    const open = await hubSource(
      `hf:${REPO}`,
      opts(server, { token: TOKEN, maxTries: 2, onRetry: (m) => logs.push(m), maxSkipBytes: 10 }),
    );
    const big = await open.open('text_encoder/model.safetensors');
    server.inject('/repos/', { kind: 'drop', afterBytes: 10 }, 2);
    await collect(big.read(0, 5000)); // dropped twice
    server.inject('/repos/', { kind: 'ignore-range' });
    await collect(big.read(100, 200)); // range ignored, refused
    await big.read(0, 4);
    server.inject('/repos/', { kind: 'etag', etag: '"x"' });
    await collect(big.read(0, 4)); // changed
    expect(errors).toHaveLength(11);
    expect(logs.length).toBeGreaterThanOrEqual(2);
    // the token was really in use (sent to the hub), so the check below means something
    expect(s.requests.some((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    const everything = [
      ...logs,
      ...errors.flatMap((e) => [
        e.message,
        String(e.stack),
        JSON.stringify(e),
        String((e as { cause?: unknown }).cause ?? ''),
      ]),
    ].join('\n');
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(TOKEN.slice(3, 20));
  });
});
