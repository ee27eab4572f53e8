/**
 * Proves the harness: the built app is served on 127.0.0.1 with cross-origin isolation, Chromium
 * has a WebGPU adapter, and a graph built by our tooling gives the same numbers on the WebGPU and
 * WASM providers of onnxruntime-web.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect } from './fixtures';

const out = join('e2e', '.output');
const graphPath = join(out, 'sampling_head.onnx');
const python = process.env.EXPORT_PYTHON ?? join('tools', 'export', '.venv', 'bin', 'python');

test.beforeAll(() => {
  mkdirSync(out, { recursive: true });
  execFileSync(python, [join('e2e', 'fixtures', 'make_sampling_head.py'), graphPath]);
});

test('page is cross-origin isolated and has a strict CSP', async ({ editor, page }) => {
  const response = await page.goto('/');
  await page.waitForFunction(() => window.__editmgt !== undefined);
  const headers = response!.headers();
  expect(headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(headers['cross-origin-embedder-policy']).toBe('require-corp');
  expect(headers['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
  void editor;
});

test('a plain page has no test API; ?test installs it', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL });
  try {
    const page = await context.newPage();
    await page.goto('/');
    await expect(page.getByTestId('instruction')).toBeVisible();
    // The app has started (its store asks the worker for the backend) and still installed nothing.
    await page.waitForTimeout(500);
    expect(await page.evaluate(() => typeof window.__editmgt)).toBe('undefined');
    await page.goto('/?test');
    await page.waitForFunction(() => window.__editmgt !== undefined);
  } finally {
    await context.close();
  }
});

test('the runtime and its .wasm files come from our own origin, never a CDN', async ({
  editor,
  page,
  backendChoice,
}) => {
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  await editor.open();
  const loaded = await editor.call('loadDirect', '/models/tiny-random/', backendChoice, 'auto');
  expect(loaded.error).toBeNull();
  const runtime = requested.filter((u) => /ort[^/]*\.(wasm|mjs)(\?|$)/.test(u));
  expect(
    runtime.some((u) => u.endsWith('.wasm')),
    requested.join('\n'),
  ).toBe(true);
  const origin = new URL(page.url()).origin;
  expect(
    requested.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:')),
  ).toEqual([]);
});

test('Chromium reports a WebGPU adapter @webgpu', async ({ editor }) => {
  await editor.open();
  const info = await editor.call('backend', 'webgpu');
  expect(info.backend).toBe('webgpu');
  expect(info.adapter?.length).toBeGreaterThan(0);
});

test('WASM runs multi-threaded in the isolated page @wasm', async ({ editor }) => {
  await editor.open();
  const info = await editor.call('backend', 'wasm');
  expect(info.backend).toBe('wasm');
  expect(info.threads).toBeGreaterThan(1);
});

test('a sampling head gives equal results on WebGPU and WASM @webgpu', async ({ editor, page }) => {
  await editor.open();
  const model = [...readFileSync(graphPath)];
  const result = await page.evaluate(async (bytes) => {
    const positions = 256;
    const hidden = new Float32Array(positions * 32).map((_, i) => Math.sin(i * 0.37) * 2);
    const uniforms = new Float32Array(positions).map((_, i) => ((i * 0.6180339887) % 1) * 0.999);
    const feeds = () => ({
      hidden: { type: 'float32' as const, dims: [positions, 32], buffer: hidden.slice().buffer },
      uniforms: { type: 'float32' as const, dims: [positions, 1], buffer: uniforms.slice().buffer },
    });
    const api = window.__editmgt!;
    const gpu = await api.runGraph(new Uint8Array(bytes).buffer, feeds(), 'webgpu');
    const cpu = await api.runGraph(new Uint8Array(bytes).buffer, feeds(), 'wasm');
    const ids = (r: typeof gpu) => [...new Int32Array(r.outputs.drawn.buffer)];
    const f32 = (r: typeof gpu, k: string) => new Float32Array(r.outputs[k].buffer);
    let maxDiff = 0;
    for (const k of ['probs', 'drawn_probs']) {
      const a = f32(gpu, k);
      const b = f32(cpu, k);
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    }
    return { gpuIds: ids(gpu), cpuIds: ids(cpu), maxDiff, distinct: new Set(ids(cpu)).size };
  }, model);
  expect(result.gpuIds).toHaveLength(256);
  expect(result.distinct).toBeGreaterThan(10); // the draw really depends on the inputs
  expect(result.gpuIds).toEqual(result.cpuIds);
  expect(result.maxDiff).toBeLessThan(1e-5);
});
