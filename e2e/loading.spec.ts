/**
 * Model loading and engine failures in the worker, in real Chromium against the built app:
 * byte progress, the OPFS store (offline reuse, resumed downloads), integrity checks, a wrong
 * URL, a graph that will not load on WebGPU, and a GPU device lost in the middle of an edit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Route } from '@playwright/test';
import { readManifest } from '../src/engine/runtime/node/index';
import { test, expect } from './fixtures';

const BASE = '/models/tiny-random/';
const pkgDir = join('public', 'models', 'tiny-random');
const manifest = readManifest(pkgDir);
/**
 * The largest file the WASM default (q8) downloads that no other file shares (files are stored by
 * sha256, and the page's own editor loads another dtype at the same time).
 */
const big = manifest.files
  .filter((f) => f.path.startsWith('q8/') && manifest.files.filter((g) => g.sha256 === f.sha256).length === 1)
  .sort((a, b) => b.bytes - a.bytes)[0]!;

test('download reports bytes per file and in total, then opens offline from the store @wasm', async ({
  editor,
  page,
}) => {
  await editor.open();
  const first = await editor.call('loadDirect', BASE, 'wasm', 'auto');
  expect(first.error).toBeNull();
  expect(first.model?.dtype).toBe('q8');
  const files = new Set(first.progress.map((p) => p.file));
  const last = first.progress.at(-1)!;
  expect(files.has(big.path)).toBe(true);
  expect(last.totalLoaded).toBe(last.totalBytes);
  // Totals only grow, and each file's count ends at its size from the manifest.
  for (let i = 1; i < first.progress.length; i++)
    expect(first.progress[i]!.totalLoaded).toBeGreaterThanOrEqual(first.progress[i - 1]!.totalLoaded);
  for (const f of files)
    expect(first.progress.filter((p) => p.file === f).at(-1)!.loaded).toBe(
      manifest.files.find((m) => m.path === f)!.bytes,
    );
  expect(first.model!.cachedBytes).toBeGreaterThanOrEqual(last.totalBytes);

  // Offline: every request for the package fails; the stored copy (manifest included) is used.
  const reached: string[] = [];
  await page.context().route('**/models/**', (route) => {
    reached.push(route.request().url());
    return route.abort('internetdisconnected');
  });
  const offline = await editor.call('loadDirect', BASE, 'wasm', 'auto');
  expect(offline.error).toBeNull();
  expect(offline.model?.dtype).toBe('q8');
  // The manifest request was tried and refused (so the route really cut the worker off), and
  // nothing else was asked for.
  expect(reached.length).toBeGreaterThan(0);
  expect(reached.every((u) => u.endsWith('manifest.json'))).toBe(true);
});

test('an interrupted download resumes with an HTTP Range request @wasm', async ({ editor, page }) => {
  await editor.open();
  const body = readFileSync(join(pkgDir, big.path));
  const cut = Math.floor(big.bytes / 3);
  const requests: (string | null)[] = [];
  await page.context().route(`**${BASE}${big.path}`, async (route: Route) => {
    const range = route.request().headers()['range'] ?? null;
    requests.push(range);
    if (requests.length === 1) {
      // The connection drops a third of the way in.
      return route.fulfill({
        status: 200,
        headers: {
          'Content-Type': 'application/octet-stream',
          'Cross-Origin-Resource-Policy': 'same-origin',
        },
        body: body.subarray(0, cut),
      });
    }
    const from = Number(/bytes=(\d+)-/.exec(range ?? '')?.[1] ?? 0);
    return route.fulfill({
      status: from > 0 ? 206 : 200,
      headers: {
        'Content-Type': 'application/octet-stream',
        'Cross-Origin-Resource-Policy': 'same-origin',
        ...(from > 0 ? { 'Content-Range': `bytes ${from}-${big.bytes - 1}/${big.bytes}` } : {}),
      },
      body: body.subarray(from),
    });
  });
  const broken = await editor.call('loadDirect', BASE, 'wasm', 'auto');
  expect(broken.error?.code).toBe('model-unavailable');
  expect(broken.error?.message).toContain(big.path);
  const resumed = await editor.call('loadDirect', BASE, 'wasm', 'auto');
  expect(resumed.error).toBeNull();
  expect(requests).toEqual([null, `bytes=${cut}-`]);
  // The resumed file's progress starts where the first attempt stopped.
  expect(resumed.progress.find((p) => p.file === big.path)!.loaded).toBe(cut);
});

test('a file whose sha256 differs is refused, and a good copy loads afterwards @wasm', async ({
  editor,
  page,
}) => {
  await editor.open();
  const body = Buffer.from(readFileSync(join(pkgDir, big.path)));
  body[body.length >> 1]! ^= 0xff;
  const corrupt = (route: Route) =>
    route.fulfill({
      status: 200,
      headers: { 'Content-Type': 'application/octet-stream', 'Cross-Origin-Resource-Policy': 'same-origin' },
      body,
    });
  await page.context().route(`**${BASE}${big.path}`, corrupt);
  const bad = await editor.call('loadDirect', BASE, 'wasm', 'auto');
  expect(bad.error?.code).toBe('model-invalid');
  expect(bad.error?.message).toMatch(new RegExp(`${big.path.replace('/', '\\/')} is corrupt: its sha256 is`));
  await page.context().unroute(`**${BASE}${big.path}`, corrupt);
  const good = await editor.call('loadDirect', BASE, 'wasm', 'auto');
  expect(good.error).toBeNull();
});

test('a wrong model URL says what is wrong @wasm', async ({ editor }) => {
  await editor.open();
  // A static host that answers unknown paths with its web page, and one that answers 404.
  const html = await editor.call('loadDirect', '/models/no-such-model/', 'wasm', 'auto');
  expect(html.error?.code).toBe('model-unavailable');
  expect(html.error?.message).toMatch(
    /sent a web page, not a model manifest\. Is this a model package URL\?/,
  );
  await editor.page
    .context()
    .route('**/models/gone/**', (route) => route.fulfill({ status: 404, body: 'Not Found' }));
  const missing = await editor.call('loadDirect', '/models/gone/', 'wasm', 'auto');
  expect(missing.error?.code).toBe('model-unavailable');
  expect(missing.error?.message).toMatch(/HTTP 404\. Is this a model package URL\?/);
  const unreachable = await editor.call('loadDirect', 'http://127.0.0.1:9/models/x/', 'wasm', 'auto');
  expect(unreachable.error?.code).toBe('model-unavailable');
  expect(unreachable.error?.message).toMatch(/could not reach .*Check the model URL and your connection/);
});

test('a package that does not load on WebGPU falls back to WASM and says so @webgpu', async ({ editor }) => {
  test.setTimeout(240_000);
  await editor.open();
  const backend = await editor.call('backend', 'webgpu');
  test.skip(backend.shaderF16 === true, 'this adapter runs fp16 graphs, so they load on WebGPU');
  // fp16 graphs need shader-f16, which SwiftShader lacks: session creation fails on WebGPU.
  const r = await editor.call('loadDirect', BASE, 'webgpu', 'fp16');
  expect(r.error).toBeNull();
  expect(r.model?.backend).toBe('wasm');
  expect(r.warnings.join(' ')).toMatch(/did not load on WebGPU .*using WASM instead/);
  expect(r.model?.fallbackReason).toMatch(/did not load on WebGPU/);
});

test('backend choices made in quick succession: the last one counts, even when an earlier probe is slower @webgpu', async ({
  editor,
}) => {
  await editor.open();
  // The WebGPU probe (adapter and device) takes longer than choosing WASM; both are in flight at once.
  const r = await editor.call('loadDirect', BASE, ['webgpu', 'wasm'], 'fp32');
  expect(r.error).toBeNull();
  expect(r.backend?.backend).toBe('wasm');
  expect(r.model?.backend).toBe('wasm');
  const back = await editor.call('loadDirect', BASE, ['wasm', 'webgpu'], 'fp32');
  expect(back.model?.backend).toBe('webgpu');
});

test('the GPU device lost mid-edit: reported, the image kept, the engine rebuilt, the next edit works @webgpu', async ({
  ui,
}) => {
  test.setTimeout(600_000);
  await ui.openReady();
  const before = await ui.editUnderWay();
  await ui.call('loseDevice');
  // A fresh worker gets a fresh device; the model comes back on WebGPU.
  await ui.expectGpuLossRecovered(before);
});

test('a package whose graphs do not match its manifest is refused naming the graph, and the good one loads after @wasm', async ({
  editor,
  page,
}) => {
  await editor.open();
  // The manifest points vq_encode at the decoder's files and the other way round (checksums intact).
  const swapped = structuredClone(manifest) as unknown as {
    dtypes: Record<string, { graphs: Record<string, unknown> }>;
  };
  const q8 = swapped.dtypes['q8']!.graphs;
  [q8['vq_encode'], q8['vq_decode']] = [q8['vq_decode'], q8['vq_encode']];
  await page.context().route('**/models/swapped/**', (route: Route) => {
    const path = new URL(route.request().url()).pathname.replace('/models/swapped/', '');
    const body = path === 'manifest.json' ? JSON.stringify(swapped) : readFileSync(join(pkgDir, path));
    return route.fulfill({
      status: 200,
      headers: { 'Content-Type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream' },
      body,
    });
  });
  const bad = await editor.call('loadDirect', '/models/swapped/', 'wasm', 'q8');
  expect(bad.error?.code).toBe('model-invalid');
  expect(bad.error?.message).toContain(
    "model graph vq_encode does not match its manifest: input 'pixels' is missing",
  );
  const good = await editor.call('loadDirect', BASE, 'wasm', 'q8');
  expect(good.error).toBeNull();
});
