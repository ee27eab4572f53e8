/**
 * Model loading against servers and packages that misbehave, in real Chromium against the built
 * app: a server that stops sending half-way through a graph (and one whose manifest never ends),
 * a leftover partial download the server will not continue, packages that declare more than the
 * browser can store, and the app's promise that a failed or cancelled load leaves the model in
 * use, and the saved choice, as they were.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, Route } from '@playwright/test';
import { test, expect } from './fixtures';
import { startModelServer } from './modelServer';

const pkgDir = join('public', 'models', 'tiny-random');
interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}
const manifestText = readFileSync(join(pkgDir, 'manifest.json'), 'utf8');
const manifest = JSON.parse(manifestText) as { name: string; files: ManifestFile[] };
/** The largest file the WASM default (q8) downloads that no other file shares. */
const big = manifest.files
  .filter((f) => f.path.startsWith('q8/') && manifest.files.filter((g) => g.sha256 === f.sha256).length === 1)
  .sort((a, b) => b.bytes - a.bytes)[0]!;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const binary = { 'Content-Type': 'application/octet-stream', 'Cross-Origin-Resource-Policy': 'same-origin' };

/** `true` when it answered the request itself (a promise that never settles: it never answers). */
type Answer = (path: string, route: Route) => Promise<boolean> | boolean | void;

/** Serves the tiny package under another path; `answer` may answer a request its own way first. */
async function servePackageAt(page: Page, base: string, answer: Answer = () => false): Promise<void> {
  await page.context().route(`**${base}**`, async (route) => {
    const path = new URL(route.request().url()).pathname.slice(base.length);
    if (await answer(path, route)) return;
    try {
      const body = readFileSync(join(pkgDir, path));
      await route.fulfill({
        status: 200,
        headers: {
          ...binary,
          'Content-Type': path.endsWith('.json') ? 'application/json' : binary['Content-Type'],
        },
        body,
      });
    } catch {
      await route.fulfill({ status: 404, body: 'not found' });
    }
  });
}

test('a server that stops sending half-way through a graph fails the load in the stall time, naming the file; the next try resumes @wasm', async ({
  editor,
}) => {
  const server = await startModelServer(pkgDir, { stallAfter: { path: big.path, bytes: big.bytes >> 1 } });
  try {
    await editor.open();
    const started = Date.now();
    const stalled = await editor.call('loadDirect', server.url, 'wasm', 'auto', { stallMs: 2000 });
    expect(stalled.error?.code).toBe('model-unavailable');
    expect(stalled.error?.message).toMatch(
      new RegExp(
        `the download of ${escape(big.path)} stalled: the server sent nothing for 2 s after \\d+ of ${big.bytes} bytes`,
      ),
    );
    expect(stalled.error?.message).toMatch(/Try Load again later/);
    expect(Date.now() - started).toBeLessThan(30_000);

    // The server recovers: the download continues from what had arrived.
    server.misbehaviour.stallAfter = undefined;
    const resumed = await editor.call('loadDirect', server.url, 'wasm', 'auto', { stallMs: 2000 });
    expect(resumed.error).toBeNull();
    const ranges = server.requests.filter((r) => r.path === big.path).map((r) => r.range);
    expect(ranges[0]).toBeNull();
    expect(ranges[1]).toMatch(/^bytes=[1-9]\d*-$/);
    expect(ranges).toHaveLength(2);
  } finally {
    await server.close();
  }
});

test('a manifest that never ends is refused once it passes the size cap @wasm', async ({ editor }) => {
  const server = await startModelServer(pkgDir, { endlessManifest: true });
  try {
    await editor.open();
    const r = await editor.call('loadDirect', server.url, 'wasm', 'auto');
    expect(r.error?.code).toBe('model-unavailable');
    expect(r.error?.message).toMatch(
      /manifest\.json is too large: at least \d+ bytes, where such a file may be at most 16 MiB/,
    );
  } finally {
    await server.close();
  }
});

test('a leftover partial download that the server will not continue (HTTP 416) is started over @wasm', async ({
  editor,
  page,
}) => {
  await editor.open();
  const body = readFileSync(join(pkgDir, big.path));
  const cut = Math.floor(big.bytes / 3);
  const ranges: (string | null)[] = [];
  await page.context().route(`**/models/tiny-random/${big.path}`, async (route: Route) => {
    const range = route.request().headers()['range'] ?? null;
    ranges.push(range);
    if (ranges.length === 1)
      return route.fulfill({ status: 200, headers: binary, body: body.subarray(0, cut) });
    if (range)
      return route.fulfill({
        status: 416,
        headers: { ...binary, 'Content-Range': `bytes */${big.bytes}` },
        body: '',
      });
    return route.fulfill({ status: 200, headers: binary, body });
  });
  const broken = await editor.call('loadDirect', '/models/tiny-random/', 'wasm', 'auto');
  expect(broken.error?.message).toContain(big.path);
  const again = await editor.call('loadDirect', '/models/tiny-random/', 'wasm', 'auto');
  expect(again.error).toBeNull();
  expect(ranges).toEqual([null, `bytes=${cut}-`, null]);
});

test('a package declaring a file larger than any package needs is refused before any download @wasm', async ({
  editor,
  page,
}) => {
  const huge = JSON.parse(manifestText) as { files: ManifestFile[] };
  // on a graph file: an external-data chunk of 2 GiB or more is refused by the manifest check first
  huge.files.find((f) => f.path === 'q8/transformer_step.onnx')!.bytes = 1e15;
  const asked: string[] = [];
  await servePackageAt(page, '/models/huge/', async (path, route) => {
    asked.push(path);
    if (path !== 'manifest.json') return false;
    await route.fulfill({
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(huge),
    });
    return true;
  });
  await editor.open();
  const r = await editor.call('loadDirect', '/models/huge/', 'wasm', 'auto');
  // the engine's per-file cap (MAX_PACKAGE_FILE_BYTES) comes before the storage preflight, whose
  // own refusal is tested with a folder too large for the browser (openFolder.spec.ts)
  expect(r.error?.code).toBe('model-invalid');
  expect(r.error?.message).toContain(
    'model file q8/transformer_step.onnx is declared as 909.5 TiB; a package file may be at most 4 GiB',
  );
  expect(asked).toEqual(['manifest.json']);
});

test('a tokenizer file over the size cap is refused from the manifest @wasm', async ({ editor, page }) => {
  const fat = JSON.parse(manifestText) as { files: ManifestFile[] };
  fat.files.find((f) => f.path === 'tokenizer_llm/tokenizer.json')!.bytes = 100 << 20;
  const asked: string[] = [];
  await servePackageAt(page, '/models/fat-tokenizer/', async (path, route) => {
    asked.push(path);
    if (path !== 'manifest.json') return false;
    await route.fulfill({
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(fat),
    });
    return true;
  });
  await editor.open();
  const r = await editor.call('loadDirect', '/models/fat-tokenizer/', 'wasm', 'auto');
  expect(r.error?.code).toBe('model-invalid');
  expect(r.error?.message).toMatch(
    /the tokenizer file tokenizer_llm\/tokenizer\.json is declared as 104857600 bytes; a tokenizer file may be at most 64 MiB/,
  );
  expect(asked).toEqual(['manifest.json']);
});

/** The OPFS folder the worker keeps a package in (see workers/modelStore.ts). */
function storeKey(page: Page, base: string): string {
  return createHash('sha256').update(new URL(base, page.url()).href).digest('hex').slice(0, 24);
}

function storedNames(page: Page, key: string): Promise<string[]> {
  return page.evaluate(async (key) => {
    const dir = await (
      await (await navigator.storage.getDirectory()).getDirectoryHandle('models')
    ).getDirectoryHandle(key);
    const names: string[] = [];
    for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
    return names.sort();
  }, key);
}

test('stored files carry a verified mark; a stored file without one is hashed again and replaced when wrong @wasm', async ({
  editor,
  page,
}) => {
  let downloads = 0;
  await servePackageAt(page, '/models/marks/', (path) => {
    if (path === big.path) downloads++;
  });
  await editor.open();
  expect((await editor.call('loadDirect', '/models/marks/', 'wasm', 'auto')).error).toBeNull();
  const key = storeKey(page, '/models/marks/');
  const names = await storedNames(page, key);
  expect(names).toContain(big.sha256);
  expect(names).toContain(`${big.sha256}.verified`);
  expect(names.filter((n) => n.includes('.part'))).toEqual([]);
  expect(downloads).toBe(1);

  // A copy cut off while being stored: same size, wrong bytes, no mark.
  await page.evaluate(
    async ([key, sha]) => {
      const dir = await (
        await (await navigator.storage.getDirectory()).getDirectoryHandle('models')
      ).getDirectoryHandle(key);
      await dir.removeEntry(`${sha}.verified`);
      const w = await (await dir.getFileHandle(sha)).createWritable({ keepExistingData: true });
      await w.write({ type: 'write', position: 100, data: new Uint8Array(64) });
      await w.close();
    },
    [key, big.sha256] as const,
  );
  expect((await editor.call('loadDirect', '/models/marks/', 'wasm', 'auto')).error).toBeNull();
  expect(downloads).toBe(2);
  expect(await storedNames(page, key)).toContain(`${big.sha256}.verified`);
});

test('a stalled or failed model load keeps the model in use and the saved choice; Cancel stops it @wasm', async ({
  ui,
  page,
}) => {
  test.setTimeout(240_000);
  await ui.openReady();
  expect((await ui.snapshot()).model?.name).toBe(manifest.name);
  // A package whose largest graph never arrives, and one whose graph the server refuses.
  await servePackageAt(page, '/models/stalled/', (path) =>
    path === big.path ? new Promise<boolean>(() => undefined) : false,
  );
  await servePackageAt(page, '/models/broken/', async (path, route) => {
    if (path !== big.path) return false;
    await route.fulfill({ status: 500, body: 'server error' });
    return true;
  });

  await page.getByTestId('model-select').selectOption('__custom__');
  await page.getByTestId('model-url').fill('/models/stalled/');
  await page.getByTestId('load-model').click();
  await ui.expectState('loading-model');
  await expect(page.getByTestId('model-progress')).toContainText(big.path);
  await page.getByTestId('cancel-load').click();
  await expect(ui.notice).toContainText(`Loading cancelled. Still using ${manifest.name}.`);
  await ui.expectState('ready');
  await expect(page.getByTestId('clear-cache')).toBeEnabled();

  await page.getByTestId('model-url').fill('/models/broken/');
  await page.getByTestId('load-model').click();
  await expect(ui.error).toContainText('/models/broken/');
  await expect(ui.error).toContainText(`${manifest.name} is still loaded and ready`);
  expect((await ui.snapshot()).modelStatus).toBe('ready');

  // The model in use still edits.
  await page.getByRole('button', { name: 'Dismiss this message' }).click();
  await ui.choose('photo.jpg');
  await ui.expectImage(640, 427);
  await ui.setSteps(2);
  await ui.edit('make the sky purple');
  expect(await ui.waitForDone()).toBe(2);

  // The saved choice is still the model that worked: a plain reload opens it, and asks the
  // failed hosts for nothing.
  await ui.call('flush');
  const asked: string[] = [];
  page.on('request', (r) => asked.push(new URL(r.url()).pathname));
  await page.goto('/');
  await page.waitForFunction(() => window.__editmgt !== undefined);
  await expect.poll(async () => (await ui.snapshot()).modelStatus, { timeout: 90_000 }).toBe('ready');
  expect((await ui.snapshot()).model?.name).toBe(manifest.name);
  expect(asked.filter((p) => p.startsWith('/models/stalled/') || p.startsWith('/models/broken/'))).toEqual(
    [],
  );
});

test('a package needing larger GPU buffers than the adapter allows is refused before any download @webgpu', async ({
  editor,
  page,
}) => {
  await editor.open();
  const info = await editor.call('backend', 'webgpu');
  expect(info.limits?.maxBufferSize).toBeGreaterThan(0);
  const demanding = JSON.parse(manifestText) as {
    config: Record<string, unknown>;
    dtypes: Record<string, Record<string, unknown>>;
  };
  // the package's largest buffer and each dtype's own (the worker refuses when no WebGPU dtype fits)
  const declare = (bytes: number) => {
    demanding.config['max_buffer_bytes'] = bytes;
    for (const entry of Object.values(demanding.dtypes)) entry['max_buffer_bytes'] = bytes;
  };
  declare(info.limits!.maxBufferSize + 1);
  const asked: string[] = [];
  await servePackageAt(page, '/models/demanding/', async (path, route) => {
    asked.push(path);
    if (path !== 'manifest.json') return false;
    await route.fulfill({
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(demanding),
    });
    return true;
  });
  const r = await editor.call('loadDirect', '/models/demanding/', 'webgpu', 'auto');
  expect(r.error?.code).toBe('backend-unavailable');
  expect(r.error?.message).toMatch(
    /this model needs GPU buffers of \d+ MB, but this GPU allows buffers of at most \d+ MB \(maxBufferSize\)/,
  );
  expect(r.error?.message).toMatch(/smaller resolution would fit, or choose the WASM backend/);
  expect(asked).toEqual(['manifest.json']);

  // The same package declaring what the adapter has loads, on the device this worker asked for.
  declare(Math.min(info.limits!.maxBufferSize, info.limits!.maxStorageBufferBindingSize));
  const fits = await editor.call('loadDirect', '/models/demanding/', 'webgpu', 'fp32');
  expect(fits.error).toBeNull();
  expect(fits.model?.backend).toBe('webgpu');
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
type TamperedManifest = {
  name: string;
  files: ManifestFile[];
  config: { resolutions: Record<string, { token_grid: number[] }> };
  dtypes: Record<
    string,
    { graphs: Record<string, { external_data?: string[]; token_table?: Record<string, number | string> }> }
  >;
};

/**
 * Serves a tampered copy of the tiny package at `base`: `bodies` replaces files' bytes (null: the
 * server has no such file), `edit` changes the manifest; the manifest's checksums follow the bytes
 * served (a package published broken, not one damaged on the way).
 */
async function serveTampered(
  page: Page,
  base: string,
  tamper: { bodies?: Record<string, Uint8Array | null>; edit?: (m: TamperedManifest) => void },
): Promise<void> {
  const bodies = tamper.bodies ?? {};
  const m = JSON.parse(manifestText) as TamperedManifest;
  m.name = `tampered${base.replace(/[^A-Za-z0-9]+/g, '-')}`;
  tamper.edit?.(m);
  for (const f of m.files) {
    const body = bodies[f.path];
    if (body) Object.assign(f, { bytes: body.length, sha256: sha256(body) });
  }
  await servePackageAt(page, base, async (path, route) => {
    const body = path === 'manifest.json' ? Buffer.from(JSON.stringify(m)) : bodies[path];
    if (body === null) {
      await route.fulfill({ status: 404, body: 'not found' });
      return true;
    }
    if (!body) return false;
    await route.fulfill({ status: 200, headers: binary, body: Buffer.from(body) });
    return true;
  });
}

const q8 = (m: TamperedManifest) => m.dtypes['q8']!.graphs;
const tableSpec = JSON.parse(manifestText).dtypes.q8.graphs.text_llm.token_table as {
  file: string;
  rows: number;
  row_bytes: number;
  dim: number;
  format: string;
};
const tableBytes = readFileSync(join(pkgDir, tableSpec.file));
/** A graph file with its first "MatMul" operator renamed (same length: the protobuf's framing holds). */
function renamedOperator(path: string): Uint8Array {
  const bytes = readFileSync(join(pkgDir, path));
  const at = bytes.indexOf(Buffer.from('\x22\x06MatMul', 'latin1'));
  expect(at).toBeGreaterThan(0);
  bytes.write('X', at + 7, 'latin1');
  return bytes;
}
const AGAIN = 'so downloading it again will not help';

test('a package that cannot edit shows why and never loads as ready; a damaged graph says downloading again will not help @wasm', async ({
  ui,
  page,
}) => {
  test.setTimeout(240_000);
  await ui.openReady();
  const inUse = (await ui.snapshot()).model?.name;
  expect(inUse).toBeTruthy();
  await serveTampered(page, '/models/grid32/', {
    edit: (m) => {
      m.config.resolutions['64']!.token_grid = [32, 32];
    },
  });
  const truncated = readFileSync(join(pkgDir, 'q8/vq_decode.onnx'));
  await serveTampered(page, '/models/truncated/', {
    bodies: { 'q8/vq_decode.onnx': truncated.subarray(0, truncated.length >> 1) },
  });

  await page.getByTestId('model-select').selectOption('__custom__');
  await page.getByTestId('model-url').fill('/models/grid32/');
  await page.getByTestId('load-model').click();
  await expect(ui.error).toContainText(
    "manifest config.resolutions.64.token_grid: [32, 32] disagrees with the graphs: vq_encode output 'ids' has shape [1, 16, 16]",
  );
  await expect(ui.error).toContainText('Pick another model');
  expect((await ui.snapshot()).model?.name).toBe(inUse); // the model in use, not the tampered one

  await page.getByRole('button', { name: 'Dismiss this message' }).click();
  await page.getByTestId('model-url').fill('/models/truncated/');
  await page.getByTestId('load-model').click();
  await expect(ui.error).toContainText('model graph vq_decode: q8/vq_decode.onnx is not a valid ONNX graph');
  await expect(ui.error).toContainText(AGAIN);
  await expect(ui.error).not.toContainText('Try again');
  expect((await ui.snapshot()).model?.name).toBe(inUse);
});

test('token tables that cannot feed the graph are refused at load, naming the field @wasm', async ({
  editor,
  page,
}) => {
  const t = tableSpec;
  const where = 'dtypes.q8.graphs.text_llm.token_table';
  const nan = new Uint8Array(tableBytes);
  // int8 rows: a float32 scale, then dim int8 values; a NaN scale makes the whole row NaN
  for (let r = 0; r < t.rows; r++) new DataView(nan.buffer).setFloat32(r * t.row_bytes, NaN, true);
  expect(t.format).toBe('int8');
  const cases: [string, Parameters<typeof serveTampered>[2], string][] = [
    [
      'narrow',
      {
        edit: (m) => {
          const width = 16;
          Object.assign(q8(m).text_llm!.token_table!, {
            dim: width,
            row_bytes: 4 + width,
            rows: tableBytes.length / (4 + width),
          });
        },
      },
      `manifest ${where}.dim: 16 values a row, but the text_llm graph takes inputs_embeds of width 32`,
    ],
    [
      'no-table',
      { edit: (m) => delete q8(m).text_llm!.token_table },
      `manifest ${where}: missing: the text_llm graph takes inputs_embeds`,
    ],
    [
      'ten-rows',
      {
        bodies: { [t.file]: tableBytes.subarray(0, 10 * t.row_bytes) },
        edit: (m) => Object.assign(q8(m).text_llm!.token_table!, { rows: 10 }),
      },
      `manifest ${where}.rows: the token table ${t.file} has 10 rows, but the tokenizer tokenizer_llm/tokenizer.json has 385 token ids`,
    ],
    ['nan', { bodies: { [t.file]: nan } }, `manifest ${where}: row 0 of the token table ${t.file} holds NaN`],
  ];
  await editor.open();
  // a table file the server does not have: a download error that names it
  await serveTampered(page, '/models/table-gone/', { bodies: { [t.file]: null } });
  const gone = await editor.call('loadDirect', '/models/table-gone/', 'wasm', 'auto');
  expect(gone.model).toBeNull();
  expect(gone.error?.code).toBe('model-unavailable');
  expect(gone.error?.message).toContain(`/models/table-gone/${t.file}: HTTP 404`);
  for (const [name, tamper, message] of cases) {
    await serveTampered(page, `/models/table-${name}/`, tamper);
    const r = await editor.call('loadDirect', `/models/table-${name}/`, 'wasm', 'auto');
    expect(r.model, name).toBeNull();
    expect(r.error?.code, name).toBe('model-invalid');
    expect(r.error?.message, name).toContain(message);
  }
});

test('a chunk a graph reads that the manifest does not list is refused, naming the graph and the file @wasm', async ({
  editor,
  page,
}) => {
  const chunk = 'q8/vq_decode.onnx.data_1';
  const flipped = readFileSync(join(pkgDir, chunk));
  flipped[100]! ^= 0xff;
  await serveTampered(page, '/models/unlisted/', {
    bodies: { [chunk]: flipped },
    edit: (m) => {
      const g = q8(m).vq_decode!;
      g.external_data = g.external_data!.filter((p) => p !== chunk);
    },
  });
  await editor.open();
  const r = await editor.call('loadDirect', '/models/unlisted/', 'wasm', 'auto');
  expect(r.error?.code).toBe('model-invalid');
  expect(r.error?.message).toMatch(
    /model graph vq_decode \(q8\/vq_decode\.onnx\) reads tensor '[^']+' from q8\/vq_decode\.onnx\.data_1, which the manifest does not list in dtypes\.q8\.graphs\.vq_decode\.external_data, so it cannot be checked/,
  );
});

test('a graph the runtime cannot load, or a chunk that does not fit its graph, names the file @wasm', async ({
  editor,
  page,
}) => {
  const chunk = 'q8/vq_decode.onnx.data_1';
  await serveTampered(page, '/models/garbled/', {
    bodies: { 'q8/transformer_step.onnx': renamedOperator('q8/transformer_step.onnx') },
  });
  await serveTampered(page, '/models/short-chunk/', {
    bodies: { [chunk]: readFileSync(join(pkgDir, chunk)).subarray(0, 1000) },
  });
  await editor.open();
  const garbled = await editor.call('loadDirect', '/models/garbled/', 'wasm', 'auto');
  expect(garbled.error?.code).toBe('model-invalid');
  expect(garbled.error?.message).toMatch(
    /^model graph transformer_step: q8\/transformer_step\.onnx cannot be loaded by the runtime \(.*MatMuX.*\)\. /,
  );
  expect(garbled.error?.message).toContain(AGAIN);
  const short = await editor.call('loadDirect', '/models/short-chunk/', 'wasm', 'auto');
  expect(short.error?.code).toBe('model-invalid');
  expect(short.error?.message).toMatch(
    /^model graph vq_decode: q8\/vq_decode\.onnx\.data_1 does not fit the graph: tensor '[^']+' takes bytes \d+–\d+ and the file has 1000\. /,
  );
  expect(short.error?.message).toContain(AGAIN);
});

test('a damaged q4 graph on WebGPU blames the file, not WebGPU, and does not fall back @webgpu', async ({
  editor,
  page,
}) => {
  const step = 'q4/transformer_step.onnx';
  await serveTampered(page, '/models/damaged-q4/', { bodies: { [step]: renamedOperator(step) } });
  await editor.open();
  // q4 runs on WebGPU and WASM both, so WASM can tell the file from the GPU (a WebGPU-only dtype
  // cannot be told apart that way, and keeps the fallback)
  const r = await editor.call('loadDirect', '/models/damaged-q4/', 'webgpu', 'q4');
  expect(r.warnings.filter((w) => /WebGPU/.test(w))).toEqual([]);
  expect(r.model).toBeNull();
  expect(r.error?.code).toBe('model-invalid');
  expect(r.error?.message).toMatch(
    /^model graph transformer_step: q4\/transformer_step\.onnx cannot be loaded by the runtime \(.*MatMuX.*\)\. /,
  );
  expect(r.error?.message).toContain(AGAIN);
});
