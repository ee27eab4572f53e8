/**
 * The page example (examples/page) as an outside consumer builds it: in a fresh folder whose
 * node_modules/@editmgt/engine links to this repository's built package, bundled by vite and
 * served by `vite preview`; in Chromium on WASM it loads tiny-random by URL and edits a canvas.
 * Its tokens must equal the node runtime's for the same picture with the package's defaults.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { unevenBuffersManifest } from './unevenBuffers';

const ROOT = resolve('.');
const VITE = join(ROOT, 'node_modules/vite/bin/vite.js');
// beside the app's preview port, far enough not to meet another run's
const PORT = Number(process.env['E2E_PORT'] ?? 4179) + 1000;

let consumer = '';
let server: ChildProcess | null = null;

test.beforeAll(async () => {
  test.setTimeout(300_000);
  execFileSync('npm', ['run', 'build'], { cwd: join(ROOT, 'src/engine'), stdio: 'pipe' });
  consumer = mkdtempSync(join(tmpdir(), 'editmgt-page-'));
  mkdirSync(join(consumer, 'node_modules/@editmgt'), { recursive: true });
  symlinkSync(join(ROOT, 'src/engine'), join(consumer, 'node_modules/@editmgt/engine'), 'dir');
  symlinkSync(join(ROOT, 'public'), join(consumer, 'public'), 'dir');
  mkdirSync(join(consumer, 'examples/page'), { recursive: true });
  for (const f of ['index.html', 'main.js', 'vite.config.mjs'])
    copyFileSync(join(ROOT, 'examples/page', f), join(consumer, 'examples/page', f));
  const config = join(consumer, 'examples/page/vite.config.mjs');
  execFileSync(process.execPath, [VITE, 'build', '--config', config], { cwd: consumer, stdio: 'pipe' });
  server = spawn(
    process.execPath,
    [VITE, 'preview', '--config', config, '--host', '127.0.0.1', '--port', String(PORT), '--strictPort'],
    { cwd: consumer, stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`http://127.0.0.1:${PORT}/`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the example page server did not start');
});

test.afterAll(() => {
  server?.kill();
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

test('the page example edits a canvas on WASM like node does @wasm', async ({ page }) => {
  test.setTimeout(240_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${PORT}/?device=wasm&dtype=fp32`);
  await expect(page.locator('#run')).toBeEnabled({ timeout: 120_000 });
  const picture = await page.evaluate(() => {
    const c = document.getElementById('source') as HTMLCanvasElement;
    return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
  });
  await page.locator('#run').click();
  await expect(page.locator('body')).toHaveAttribute('data-result', /tokens/, { timeout: 180_000 });
  const web = JSON.parse((await page.locator('body').getAttribute('data-result'))!) as {
    backend: string;
    dtype: string;
    steps: number;
    width: number;
    height: number;
    tokens: number[];
  };
  expect(errors).toEqual([]);

  const { EditMGT } = await import('../src/engine/runtime/node/index');
  const editor = await EditMGT.fromPretrained(join(ROOT, 'public/models/tiny-random'), {
    dtype: web.dtype as 'fp32',
  });
  try {
    const node = await editor.edit(
      { width: 96, height: 64, data: Uint8ClampedArray.from(picture) },
      'make the sky purple',
      { seed: 1 },
    );
    expect({ ...web, tokens: undefined }).toEqual({
      backend: 'wasm',
      dtype: editor.dtype,
      steps: editor.manifest.defaults.steps,
      width: 96,
      height: 64,
      tokens: undefined,
    });
    expect(web.tokens).toEqual(Array.from(node.tokens));
  } finally {
    await editor.dispose();
  }
});

test('the library opens on WebGPU a package whose smallest dtype fits, as the app does @webgpu', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/models/tiny-random/manifest.json', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: unevenBuffersManifest(ROOT) }),
  );
  await page.goto(`http://127.0.0.1:${PORT}/?device=webgpu`);
  // ready, or refused (a page error names why)
  await expect
    .poll(async () => errors.length > 0 || /^ready/.test((await page.locator('#log').textContent()) ?? ''), {
      timeout: 180_000,
    })
    .toBe(true);
  expect(errors).toEqual([]);
  await expect(page.locator('#log')).toHaveText('ready on webgpu, fp32');
});
