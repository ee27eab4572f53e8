/**
 * `hf:owner/repo[@revision]` links, against a real local server that behaves like the hub and its
 * storage host (CORS, ranges, redirects of large files to another origin, 401/403 for a gated
 * repository, 429, each request's headers recorded per origin). The page is pointed at it with
 * `?hub=`, which the app honours only when the page and the hub are both on this machine.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { startHubServer } from '../src/engine/runtime/node/internal';
import type { HubServer, RecordedRequest } from '../src/engine/runtime/node/internal';
import { test, expect } from './fixtures';

test.describe.configure({ timeout: 240_000 });

const PKG = join('public', 'models', 'tiny-random');
const TOKEN = 'hf_e2eGatedT0kenValue5678901234567';
const WRONG = 'hf_e2eWrongOrRevokedToken00000000';

/** Every file under `root` by path, with its size. */
function filesUnder(root: string, rel = '', out = new Map<string, number>()): Map<string, number> {
  for (const name of readdirSync(join(root, rel))) {
    const path = rel ? `${rel}/${name}` : name;
    if (statSync(join(root, path)).isDirectory()) filesUnder(root, path, out);
    else out.set(path, statSync(join(root, path)).size);
  }
  return out;
}

/** Every file of the package by path, and by the sha256 the storage host names it by. */
function packageFiles(): { byPath: Map<string, number>; bySha: Map<string, string> } {
  const byPath = new Map<string, number>();
  const bySha = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(PKG, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      if (statSync(join(PKG, path)).isDirectory()) walk(path);
      else {
        byPath.set(path, statSync(join(PKG, path)).size);
        bySha.set(
          createHash('sha256')
            .update(readFileSync(join(PKG, path)))
            .digest('hex'),
          path,
        );
      }
    }
  };
  walk('');
  return { byPath, bySha };
}

/** The package files the hub or its storage host sent (200, in full), by path. */
function servedFiles(requests: readonly RecordedRequest[]): string[] {
  const { bySha } = packageFiles();
  const out: string[] = [];
  for (const r of requests) {
    if (r.method !== 'GET' || r.status !== 200) continue;
    const path =
      r.server === 'storage'
        ? bySha.get(/\/repos\/[0-9a-f]{2}\/([0-9a-f]{64})/.exec(r.url)?.[1] ?? '')
        : /\/resolve\/[0-9a-f]{40}\/(.+)$/.exec(decodeURIComponent(r.url))?.[1];
    if (path) out.push(path);
  }
  return [...new Set(out)].sort();
}

/** Bytes of package files (the manifest aside) the hub and its storage host sent in full. */
function servedBytes(server: HubServer): number {
  const { byPath, bySha } = packageFiles();
  let sum = 0;
  for (const r of server.requests) {
    if (r.method !== 'GET' || r.status !== 200) continue;
    const path =
      r.server === 'storage'
        ? bySha.get(/\/repos\/[0-9a-f]{2}\/([0-9a-f]{64})/.exec(r.url)?.[1] ?? '')
        : /\/resolve\/[0-9a-f]{40}\/(.+)$/.exec(decodeURIComponent(r.url))?.[1];
    if (path && path !== 'manifest.json') sum += byPath.get(path)!;
  }
  return sum;
}

/** The exact per-precision bytes the prompt's size carries in its title. */
async function exactSizes(page: Page): Promise<Record<string, number>> {
  const size = page.getByTestId('foreign-model-size');
  await expect(size).toHaveAttribute('title', /bytes/);
  return Object.fromEntries(
    [...((await size.getAttribute('title')) ?? '').matchAll(/(\w+): ([\d,]+) bytes/g)].map((m) => [
      m[1]!,
      Number(m[2]!.replaceAll(',', '')),
    ]),
  );
}

let server: HubServer | undefined;
/** temp folders a test made, removed after it even when it timed out */
const madeDirs: string[] = [];
test.afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test('an hf: link asks first; the prompt shows the repo, the commit and the size the download fetches @wasm', async ({
  ui,
  page,
}) => {
  server = await startHubServer({ root: PKG, repo: 'owner/tiny' });
  const hub = server.endpoint;
  await page.goto(`/?model=${encodeURIComponent('hf:owner/tiny')}&hub=${encodeURIComponent(hub)}`);
  await expect(page.getByTestId('foreign-model-host')).toHaveText(new URL(hub).host);
  await expect(page.getByTestId('foreign-model-repo')).toHaveText('hf:owner/tiny');
  await expect(page.getByTestId('foreign-model-revision')).toHaveText('main');
  // the editor's own model loads meanwhile, and the hub has not been asked anything
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  expect(server.requests).toEqual([]);

  await page.getByTestId('foreign-model-check').click();
  await expect(page.getByTestId('foreign-model-revision')).toHaveText(`main (commit ${server.commit})`);
  const exact = await exactSizes(page);
  // only the hub's API and the manifest were read before the yes
  expect(
    server.requests.filter((r) => r.method === 'GET' && !/\/api\/|manifest\.json|\/repos\//.test(r.url)),
  ).toEqual([]);
  expect((await ui.snapshot()).model?.name).toBe('shapes');

  await page.getByTestId('foreign-model-accept').click();
  await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
  const dtype = (await ui.snapshot()).model!.dtype;
  expect({ dtype, bytes: servedBytes(server) }).toEqual({ dtype, bytes: exact[dtype] });

  // saved once it loaded: a reload opens it again, from this browser's storage
  await ui.call('flush');
  const before = server.requests.length;
  await page.goto('/');
  await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
  // the manifest is asked for again (fresh, as for any package); no other file is downloaded
  expect(servedFiles(server.requests.slice(before))).toEqual(['manifest.json']);
});

test('hf:owner/repo typed into the model field: its size at once, yes loads it; 429 is waited out @wasm', async ({
  page,
}) => {
  server = await startHubServer({ root: PKG, repo: 'owner/tiny' });
  server.inject('/revision/', { kind: 'status', status: 429, retryAfter: '1' });
  await page.goto(`/?hub=${encodeURIComponent(server.endpoint)}`);
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  await page.getByTestId('model-select').selectOption('__custom__');
  await page.getByTestId('model-url').fill(`hf:owner/tiny@${server.commit}`);
  await page.getByTestId('load-model').click();
  await expect(page.getByTestId('foreign-model-repo')).toHaveText('hf:owner/tiny');
  await expect(page.getByTestId('foreign-model-revision')).toHaveText(server.commit);
  await expect(page.getByTestId('foreign-model-size')).toBeVisible();
  // the 429 was answered, then the same request tried again
  expect(server.requests.filter((r) => r.url.includes('/revision/')).map((r) => r.status)).toEqual([
    429, 200,
  ]);
  await page.getByTestId('foreign-model-accept').click();
  await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
});

test('a gated repo: how to get access, the token field; a wrong token is said so; the token reaches the hub only @wasm', async ({
  ui,
  page,
}) => {
  server = await startHubServer({ root: PKG, repo: 'owner/gated', gatedToken: TOKEN });
  const hub = server.endpoint;
  const logged: string[] = [];
  page.on('console', (m) => logged.push(m.text()));
  page.on('request', (r) => logged.push(r.url()));
  await page.goto(`/?model=${encodeURIComponent('hf:owner/gated')}&hub=${encodeURIComponent(hub)}`);
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  await page.getByTestId('foreign-model-check').click();
  const problem = page.getByTestId('foreign-model-problem');
  await expect(problem).toContainText('The repository is gated or private');
  await expect(problem).toContainText(`open ${hub}/owner/gated, sign in and accept its licence`);
  await expect(problem).toContainText(
    `create a read token at ${hub}/settings/tokens and paste it into the token field`,
  );
  await expect(page.getByTestId('foreign-model-accept')).toHaveCount(0);

  await page.getByTestId('hub-token').fill(WRONG);
  await page.getByTestId('hub-token-use').click();
  await expect(problem).toContainText('the hub did not accept the token in the token field');
  await expect(problem).toContainText('mistyped, expired or revoked');
  await expect(page.getByTestId('hub-token')).toHaveValue('');
  // the model in use stays usable
  expect(await ui.snapshot()).toMatchObject({ modelStatus: 'ready', model: { name: 'shapes' } });

  await page.getByTestId('hub-token').fill(TOKEN);
  await page.getByTestId('hub-token-use').click();
  const exact = await exactSizes(page);
  await page.getByTestId('foreign-model-accept').click();
  await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
  const dtype = (await ui.snapshot()).model!.dtype;
  expect(servedBytes(server)).toBe(exact[dtype]);

  // the token went to the hub's origin only: every storage request came without it, and every
  // resolve the hub answered with files carried it
  const gets = server.requests.filter((r) => r.method === 'GET');
  const storage = gets.filter((r) => r.server === 'storage');
  const served = gets.filter((r) => r.server === 'hub' && r.url.includes('/resolve/') && r.status !== 401);
  expect(storage.length).toBeGreaterThan(0);
  expect(served.length).toBeGreaterThan(0);
  for (const r of storage) expect(JSON.stringify(r)).not.toContain(TOKEN);
  for (const r of served) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
  for (const r of server.requests) expect(r.url).not.toContain(TOKEN);
  // never stored, logged, shown or put in a URL
  await ui.call('flush');
  const kept = await page.evaluate(async () => {
    const out: string[] = [JSON.stringify(localStorage), location.href];
    for (const info of await indexedDB.databases()) {
      const db = await new Promise<IDBDatabase>((ok, no) => {
        const req = indexedDB.open(info.name!);
        req.onsuccess = () => ok(req.result);
        req.onerror = () => no(req.error);
      });
      for (const store of db.objectStoreNames) {
        const all = await new Promise<unknown[]>((ok, no) => {
          const req = db.transaction(store).objectStore(store).getAll();
          req.onsuccess = () => ok(req.result);
          req.onerror = () => no(req.error);
        });
        out.push(JSON.stringify(all));
      }
      db.close();
    }
    const names: string[] = [];
    const walk = async (dir: FileSystemDirectoryHandle, at: string) => {
      for await (const [name, handle] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>) {
        names.push(`${at}/${name}`);
        if (handle.kind === 'directory') await walk(handle as FileSystemDirectoryHandle, `${at}/${name}`);
        else if (name.endsWith('.json') || name.endsWith('.state'))
          out.push(await (await (handle as FileSystemFileHandle).getFile()).text());
      }
    };
    await walk(await navigator.storage.getDirectory(), '');
    return [...out, ...names].join('\n');
  });
  expect(kept).not.toContain(TOKEN);
  expect(kept).not.toContain(WRONG);
  expect(await page.content()).not.toContain(TOKEN);
  expect(JSON.stringify(await ui.snapshot())).not.toContain(TOKEN);
  expect(logged.join('\n')).not.toContain(TOKEN);
  expect(logged.join('\n')).not.toContain(WRONG);
});

test('a token revoked between the offer and the download is said so; the model and the image stay @wasm', async ({
  ui,
  page,
}) => {
  server = await startHubServer({ root: PKG, repo: 'owner/gated', gatedToken: TOKEN });
  const hub = server.endpoint;
  await page.goto(`/?model=${encodeURIComponent('hf:owner/gated')}&hub=${encodeURIComponent(hub)}`);
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  await ui.choose('photo.jpg');
  await expect.poll(async () => (await ui.snapshot()).image).not.toBeNull();
  const image = (await ui.snapshot()).image;
  await page.getByTestId('foreign-model-check').click();
  await page.getByTestId('hub-token').fill(TOKEN);
  await page.getByTestId('hub-token-use').click();
  await expect(page.getByTestId('foreign-model-size')).toBeVisible();
  // the token stops working: the hub answers 401 to every file from now on
  server.inject('/resolve/', { kind: 'status', status: 401 }, 1000);
  await page.getByTestId('foreign-model-accept').click();
  await expect
    .poll(async () => (await ui.snapshot()).error?.message ?? '', { timeout: 60_000 })
    .toContain('The hub refused the download of hf:owner/gated (HTTP 401)');
  const error = (await ui.snapshot()).error!.message;
  expect(error).toContain('revoked');
  expect(error).toContain('shapes is still loaded and ready');
  expect(error).not.toContain(TOKEN);
  expect(await ui.snapshot()).toMatchObject({ modelStatus: 'ready', model: { name: 'shapes' }, image });
});

test('a repo that does not exist is said so; the model in use stays @wasm', async ({ ui, page }) => {
  server = await startHubServer({ root: PKG, repo: 'owner/tiny' });
  const hub = server.endpoint;
  await page.goto(`/?model=${encodeURIComponent('hf:owner/nothing')}&hub=${encodeURIComponent(hub)}`);
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  await page.getByTestId('foreign-model-check').click();
  await expect(page.getByTestId('foreign-model-problem')).toContainText(
    `there is no repository hf:owner/nothing on ${hub}`,
  );
  await expect(page.getByTestId('foreign-model-accept')).toHaveCount(0);
  await page.getByTestId('foreign-model-decline').click();
  expect(await ui.snapshot()).toMatchObject({ modelStatus: 'ready', model: { name: 'shapes' } });
  // the failed link was not saved: a reload opens the model in use
  await ui.call('flush');
  await page.goto('/');
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
});

test('?hub= is ignored unless the page is on this machine: the real hub is named @wasm', async ({ page }) => {
  // the page at localhost is loopback too; a deployed page is not: the unit tests of hubEndpointFor
  // cover that. Here a non-loopback hub address on a loopback page falls back to huggingface.co.
  await page.goto(
    `/?model=${encodeURIComponent('hf:owner/tiny')}&hub=${encodeURIComponent('https://evil.example')}`,
  );
  await expect(page.getByTestId('foreign-model-host')).toHaveText('huggingface.co');
});

test('a gated checkpoint repo is offered for conversion in the tab; it streams by range, the token to the hub only @wasm', async ({
  ui,
  page,
}) => {
  const python = resolve('tools/export/.venv/bin/python');
  if (!existsSync(python))
    throw new Error(
      `the exporter's Python is missing (${python}): run npm run export:setup, then this test again`,
    );
  const root = mkdtempSync(join(tmpdir(), 'editmgt-hf-ckpt-'));
  try {
    // the tiny checkpoint in the hub's layout, made by the exporter's own builder
    execFileSync(python, ['-m', 'editmgt_export', 'layouts', '--out', root], {
      cwd: resolve('tools/export'),
      stdio: 'pipe',
    });
    const ckpt = join(root, 'single');
    server = await startHubServer({ root: ckpt, repo: 'owner/tiny-ckpt', gatedToken: TOKEN });
    const hub = server.endpoint;
    const logged: string[] = [];
    page.on('console', (m) => logged.push(m.text()));
    page.on('request', (r) => logged.push(r.url()));
    await page.goto(`/?model=${encodeURIComponent('hf:owner/tiny-ckpt')}&hub=${encodeURIComponent(hub)}`);
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await page.getByTestId('foreign-model-check').click();
    await expect(page.getByTestId('foreign-model-problem')).toContainText(
      'The repository is gated or private',
    );
    await page.getByTestId('hub-token').fill(TOKEN);
    await page.getByTestId('hub-token-use').click();

    // the offer: a checkpoint, its download size (every file's bytes, as the hub lists them)
    await expect(page.getByTestId('foreign-model-checkpoint')).toBeVisible();
    let total = 0;
    for (const bytes of filesUnder(ckpt).values()) total += bytes;
    await expect(page.getByTestId('foreign-model-download')).toHaveAttribute(
      'title',
      `${total.toLocaleString('en')} bytes`,
    );
    await page.getByTestId('foreign-model-convert').click();
    // the conversion's own offer: the model, the package's size and the space needed
    await expect(page.getByTestId('convert-offer')).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('convert-space')).toContainText('Space needed:');
    await expect(page.getByTestId('convert-dtype')).toBeVisible();
    const readsBefore = server.requests.length;
    await page.getByTestId('convert-accept').click();
    await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-ckpt · /, { timeout: 180_000 });

    // the worker read the weights by range: every storage read asked for a range, none had the token
    const reads = server.requests.slice(readsBefore).filter((r) => r.method === 'GET');
    const storage = reads.filter((r) => r.server === 'storage');
    expect(storage.length).toBeGreaterThan(0);
    for (const r of storage) {
      expect(r.headers.range).toMatch(/^bytes=\d+-\d+$/);
      expect(r.headers.authorization).toBeUndefined();
    }
    for (const r of reads.filter((x) => x.server === 'hub'))
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    for (const r of server.requests) expect(r.url).not.toContain(TOKEN);
    expect(JSON.stringify(await ui.snapshot())).not.toContain(TOKEN);
    expect(logged.join('\n')).not.toContain(TOKEN);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a gated hf: package shows as hf:owner/repo@commit, and reopens after a reload from storage without its token @wasm', async ({
  ui,
  page,
}) => {
  server = await startHubServer({ root: PKG, repo: 'owner/gated', gatedToken: TOKEN });
  const hub = server.endpoint;
  const pinned = `hf:owner/gated@${server.commit}`;
  await page.goto(`/?model=${encodeURIComponent('hf:owner/gated')}&hub=${encodeURIComponent(hub)}`);
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  await page.getByTestId('foreign-model-check').click();
  await page.getByTestId('hub-token').fill(TOKEN);
  await page.getByTestId('hub-token-use').click();
  await expect(page.getByTestId('foreign-model-size')).toBeVisible();
  await page.getByTestId('foreign-model-accept').click();
  await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
  // the model field and the badge name the repository, pinned to the commit that loaded
  await expect(page.getByTestId('model-url')).toHaveValue(pinned);
  await expect(page.getByTestId('model-badge')).toHaveAttribute('title', pinned);

  // a reload opens it from this browser's storage: no token asked, none sent, no file downloaded
  await ui.call('flush');
  const before = server.requests.length;
  await page.goto(`/?hub=${encodeURIComponent(hub)}`);
  await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
  expect(await ui.snapshot()).toMatchObject({ modelStatus: 'ready', model: { name: 'tiny-random' } });
  await expect(page.getByTestId('hub-token')).toHaveCount(0);
  await expect(page.getByTestId('model-url')).toHaveValue(pinned);
  const after = server.requests.slice(before);
  expect(servedFiles(after)).toEqual([]);
  for (const r of after) expect(r.headers.authorization).toBeUndefined();
});

/** The tiny checkpoint in the hub's layout, made by the exporter's own builder; removed by `done` (or after the test). */
function tinyCheckpoint(): { dir: string; done: () => void } {
  const python = resolve('tools/export/.venv/bin/python');
  if (!existsSync(python))
    throw new Error(
      `the exporter's Python is missing (${python}): run npm run export:setup, then this test again`,
    );
  const root = mkdtempSync(join(tmpdir(), 'editmgt-hf-ckpt-'));
  madeDirs.push(root);
  execFileSync(python, ['-m', 'editmgt_export', 'layouts', '--out', root], {
    cwd: resolve('tools/export'),
    stdio: 'pipe',
  });
  return { dir: join(root, 'single'), done: () => rmSync(root, { recursive: true, force: true }) };
}

/** Holds the response of one converter template until `release()`; `reached` settles when it was asked for. */
async function holdTemplate(context: BrowserContext, file: string) {
  let release!: () => void;
  let reached!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const asked = new Promise<void>((r) => (reached = r));
  await context.route(`**/templates/tiny-random/${file}`, async (route) => {
    reached();
    await held;
    await route.continue().catch(() => undefined);
  });
  return { release, reached: asked };
}

/** Opens the gated checkpoint repo with the token and accepts its conversion (the dtype offered), held at its last graph. */
async function startHeldConversion(page: Page, context: BrowserContext) {
  await page.getByTestId('foreign-model-check').click();
  await page.getByTestId('hub-token').fill(TOKEN);
  await page.getByTestId('hub-token-use').click();
  await page.getByTestId('foreign-model-convert').click();
  await expect(page.getByTestId('convert-offer')).toBeVisible({ timeout: 60_000 });
  const dtype = await page.getByTestId('convert-dtype').inputValue();
  // held at the last graph (transformer_step): the four before it are written whole
  const hold = await holdTemplate(context, `${dtype}/transformer_step.onnx`);
  await page.getByTestId('convert-accept').click();
  await hold.reached;
  await expect(page.getByTestId('convert-status')).toContainText('converting');
  return { ...hold, dtype };
}

/** The job folders of conversions in the model store. */
function convertingJobs(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const names: string[] = [];
    try {
      const dir = await root.getDirectoryHandle('converting');
      for await (const [name] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>)
        names.push(name);
    } catch {
      // no conversion ever ran
    }
    return names;
  });
}

test('a token revoked mid-way through an hf: checkpoint conversion is said as for a package; nothing half-written is listed; the model and image stay @wasm', async ({
  ui,
  page,
  context,
}) => {
  const ckpt = tinyCheckpoint();
  try {
    server = await startHubServer({ root: ckpt.dir, repo: 'owner/tiny-ckpt', gatedToken: TOKEN });
    const hub = server.endpoint;
    await page.goto(`/?model=${encodeURIComponent('hf:owner/tiny-ckpt')}&hub=${encodeURIComponent(hub)}`);
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await ui.choose('photo.jpg');
    await expect.poll(async () => (await ui.snapshot()).image).not.toBeNull();
    const image = (await ui.snapshot()).image;
    const hold = await startHeldConversion(page, context);
    // the token stops working: the hub answers 401 to every file from now on
    server.inject('/resolve/', { kind: 'status', status: 401 }, 100_000);
    hold.release();
    await expect
      .poll(async () => (await ui.snapshot()).error?.message ?? '', { timeout: 90_000 })
      .toContain('The hub refused the download of hf:owner/tiny-ckpt (HTTP 401)');
    const error = (await ui.snapshot()).error!.message;
    expect(error).toContain('revoked');
    expect(error).toContain(
      `Create a read token at ${hub}/settings/tokens and open hf:owner/tiny-ckpt again`,
    );
    expect(error).toContain('shapes is still loaded and ready');
    expect(error).not.toContain('whole folder');
    expect(error).not.toContain(TOKEN);
    expect(await ui.snapshot()).toMatchObject({ modelStatus: 'ready', model: { name: 'shapes' }, image });
    // nothing half-written: no package listed, no conversion left to go on with
    await expect(page.getByTestId('model-select').locator('option', { hasText: 'tiny-ckpt' })).toHaveCount(0);
    await expect.poll(() => convertingJobs(page)).toEqual([]);
    await expect(page.getByTestId('convert-interrupted')).toHaveCount(0);
  } finally {
    ckpt.done();
  }
});

test('a reload mid-way through an hf: checkpoint conversion offers the same repo and commit again; the token is asked again; only the graphs not written are converted @wasm', async ({
  ui,
  page,
  context,
}) => {
  const ckpt = tinyCheckpoint();
  try {
    server = await startHubServer({ root: ckpt.dir, repo: 'owner/tiny-ckpt', gatedToken: TOKEN });
    const hub = server.endpoint;
    const pinned = `hf:owner/tiny-ckpt@${server.commit}`;
    await page.goto(`/?model=${encodeURIComponent('hf:owner/tiny-ckpt')}&hub=${encodeURIComponent(hub)}`);
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    const hold = await startHeldConversion(page, context);
    await page.goto(`/?hub=${encodeURIComponent(hub)}`);
    hold.release();
    await page.waitForFunction(() => window.__editmgt !== undefined);
    const offer = page.getByTestId('convert-interrupted');
    await expect(offer).toContainText(
      `The conversion of tiny-ckpt to ${hold.dtype} stopped when the page was closed or reloaded, with 4 of 5 graphs written. Open ${pinned} again`,
    );
    await expect(offer).not.toContainText('Choose the folder');
    expect(await convertingJobs(page)).toHaveLength(1);

    // the same repo and commit offered again; the gated repo asks for its token again (none was kept)
    await page.getByTestId('convert-resume').click();
    await expect(page.getByTestId('foreign-model-repo')).toHaveText('hf:owner/tiny-ckpt');
    await expect(page.getByTestId('foreign-model-revision')).toHaveText(server.commit);
    await expect(page.getByTestId('foreign-model-problem')).toContainText(
      'The repository is gated or private',
    );
    await page.getByTestId('hub-token').fill(TOKEN);
    await page.getByTestId('hub-token-use').click();
    const graphTemplates: string[] = [];
    await context.route('**/templates/tiny-random/**/*.onnx', async (route) => {
      graphTemplates.push(
        new URL(route.request().url()).pathname.replace(/^.*\/templates\/tiny-random\//, ''),
      );
      await route.fallback();
    });
    await page.getByTestId('foreign-model-convert').click();
    await expect(page.getByTestId('convert-offer')).toBeVisible({ timeout: 60_000 });
    await page.getByTestId('convert-dtype').selectOption(hold.dtype);
    await page.getByTestId('convert-accept').click();
    await expect(page.getByTestId('model-badge')).toHaveText(`tiny-ckpt · ${hold.dtype}`, {
      timeout: 180_000,
    });
    // it went on from the four graphs written before the reload
    expect(graphTemplates).toEqual([`${hold.dtype}/transformer_step.onnx`]);
    await expect(offer).toHaveCount(0);
    expect(await convertingJobs(page)).toEqual([]);
    expect(JSON.stringify(await ui.snapshot())).not.toContain(TOKEN);
  } finally {
    ckpt.done();
  }
});

/**
 * Where in this origin's storage each needle is found: localStorage, sessionStorage, every
 * IndexedDB record (its strings, buffers and blobs), every Cache Storage entry (URL and body) and
 * every byte of every file of the Origin Private File System (the model store and the conversions'
 * job folders). `files`: every OPFS file read.
 */
function storedWhere(page: Page, needles: string[]): Promise<{ found: string[][]; files: string[] }> {
  return page.evaluate(async (needles) => {
    const found: string[][] = needles.map(() => []);
    const latin1 = new TextDecoder('latin1');
    const look = (place: string, text: string) =>
      needles.forEach((n, i) => {
        if (text.includes(n) && !found[i]!.includes(place)) found[i]!.push(place);
      });
    const valueText = async (v: unknown, depth = 0): Promise<string> => {
      if (depth > 32 || v === null || v === undefined) return '';
      if (typeof v === 'string') return v;
      if (typeof v !== 'object') return String(v);
      if (v instanceof Blob) return latin1.decode(await v.arrayBuffer());
      if (v instanceof ArrayBuffer) return latin1.decode(v);
      if (ArrayBuffer.isView(v)) return latin1.decode(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      const parts: string[] = [];
      const entries = v instanceof Map ? [...v] : Object.entries(v as object);
      for (const [k, x] of entries) parts.push(String(k), await valueText(x, depth + 1));
      return parts.join('\n');
    };
    for (const [name, area] of [
      ['localStorage', localStorage],
      ['sessionStorage', sessionStorage],
    ] as const)
      for (let i = 0; i < area.length; i++) {
        const key = area.key(i)!;
        look(name, `${key}\n${area.getItem(key)}`);
      }
    for (const info of await indexedDB.databases()) {
      const db = await new Promise<IDBDatabase>((ok, no) => {
        const req = indexedDB.open(info.name!);
        req.onsuccess = () => ok(req.result);
        req.onerror = () => no(req.error);
      });
      for (const store of db.objectStoreNames) {
        const [keys, values] = await Promise.all(
          (['getAllKeys', 'getAll'] as const).map(
            (how) =>
              new Promise<unknown[]>((ok, no) => {
                const req = db.transaction(store).objectStore(store)[how]();
                req.onsuccess = () => ok(req.result);
                req.onerror = () => no(req.error);
              }),
          ),
        );
        look(`indexedDB ${info.name}/${store}`, await valueText([keys, values]));
      }
      db.close();
    }
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const req of await cache.keys()) {
        const res = await cache.match(req);
        look(`cache ${name}`, `${req.url}\n${res ? latin1.decode(await res.arrayBuffer()) : ''}`);
      }
    }
    const files: string[] = [];
    const walk = async (dir: FileSystemDirectoryHandle, at: string) => {
      for await (const [name, handle] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>) {
        const path = `${at}/${name}`;
        look(`opfs ${path} (its name)`, name);
        if (handle.kind === 'directory') await walk(handle as FileSystemDirectoryHandle, path);
        else {
          files.push(path);
          const file = await (handle as FileSystemFileHandle).getFile();
          look(`opfs ${path}`, latin1.decode(await file.arrayBuffer()));
        }
      }
    };
    await walk(await navigator.storage.getDirectory(), '');
    return { found, files };
  }, needles);
}

test('a gated hf: checkpoint conversion never holds its token in the app state or anything the app stores: the offer, the conversion, its resume record, the package @wasm', async ({
  ui,
  page,
  context,
}) => {
  const ckpt = tinyCheckpoint();
  try {
    server = await startHubServer({ root: ckpt.dir, repo: 'owner/tiny-ckpt', gatedToken: TOKEN });
    const hub = server.endpoint;
    const pinned = `hf:owner/tiny-ckpt@${server.commit}`;
    const logged: string[] = [];
    page.on('console', (m) => logged.push(m.text()));
    page.on('request', (r) => logged.push(r.url()));
    const inState = async () => {
      const text = await ui.call('stateText');
      expect(text).toContain('tiny-ckpt'); // the dump holds the state of the moment
      return text.includes(TOKEN) || JSON.stringify(await ui.snapshot()).includes(TOKEN);
    };
    await page.goto(`/?model=${encodeURIComponent('hf:owner/tiny-ckpt')}&hub=${encodeURIComponent(hub)}`);
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await page.getByTestId('foreign-model-check').click();
    await page.getByTestId('hub-token').fill(TOKEN);
    await page.getByTestId('hub-token-use').click();
    await expect(page.getByTestId('foreign-model-checkpoint')).toBeVisible();
    expect(await inState(), 'the hub offer').toBe(false);

    await page.getByTestId('foreign-model-convert').click();
    await expect(page.getByTestId('convert-offer')).toBeVisible({ timeout: 60_000 });
    expect(await inState(), "the conversion's offer").toBe(false);

    // held at the last graph: the job folder and its resume record are on disk, the token in use
    const dtype = await page.getByTestId('convert-dtype').inputValue();
    const hold = await holdTemplate(context, `${dtype}/transformer_step.onnx`);
    await page.getByTestId('convert-accept').click();
    await hold.reached;
    await expect(page.getByTestId('convert-status')).toContainText('converting');
    expect(await inState(), 'the conversion running').toBe(false);
    await ui.call('flush');
    const during = await storedWhere(page, [TOKEN, pinned]);
    // the scan read the job's resume record (it names the repository and commit), and no byte held the token
    expect(during.files.some((f) => /^\/converting\/[^/]+\/job\.json$/.test(f))).toBe(true);
    expect(during.found[1]).toEqual(expect.arrayContaining([expect.stringMatching(/job\.json$/)]));
    expect(during.found[0], 'stored while converting').toEqual([]);

    hold.release();
    await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-ckpt · /, { timeout: 180_000 });
    expect(await inState(), 'after the conversion').toBe(false);
    await ui.call('flush');
    const after = await storedWhere(page, [TOKEN]);
    expect(after.files.some((f) => f.endsWith('/manifest.json'))).toBe(true);
    expect(after.found[0], 'stored after the conversion').toEqual([]);
    expect(await page.content()).not.toContain(TOKEN);
    expect(logged.join('\n')).not.toContain(TOKEN);
    // it reached the hub all the same: every request the hub answered with a file carried it
    const served = server.requests.filter(
      (r) => r.method === 'GET' && r.server === 'hub' && r.url.includes('/resolve/') && r.status < 400,
    );
    expect(served.length).toBeGreaterThan(0);
    for (const r of served) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
  } finally {
    ckpt.done();
  }
});
