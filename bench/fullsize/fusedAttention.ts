/**
 * Does onnxruntime-web run a fused attention operator correctly? One
 * com.microsoft.MultiHeadAttention node with the step's kind of additive bias
 * (bench/fullsize/fused_attention.py writes it, its feeds and the formula's output) is run in
 * Chromium on each build (JSEP, JSPI) and execution provider (WASM, WebGPU); prints per run the
 * max |Δ| to the formula and where the runtime placed the node. The step keeps its attention
 * written out (MatMul, Softmax) while the WebGPU rows are not within float tolerance.
 *
 *   npx tsx bench/fullsize/fusedAttention.ts [--shape 768,768,8,128] [--port 4196]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../scripts/chromium';
import { serveStatic } from './server';

const { values } = parseArgs({
  options: { shape: { type: 'string', default: '768,768,8,128' }, port: { type: 'string', default: '4196' } },
});
const work = mkdtempSync(join(tmpdir(), 'editmgt-attention-'));
try {
  const made = spawnSync(
    resolve('tools/export/.venv/bin/python'),
    [resolve('bench/fullsize/fused_attention.py'), '--out', work, '--shape', values.shape!],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (made.status !== 0) throw new Error(`fused_attention.py failed (exit ${made.status})`);
  console.log(made.stdout.trim());
  writeFileSync(join(work, 'index.html'), '<!doctype html><title>fused attention</title>');
  const server = await serveStatic(
    work,
    { ort: resolve('node_modules/onnxruntime-web/dist') },
    Number(values.port),
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const shapes = JSON.parse(readFileSync(join(work, 'shapes.json'), 'utf8')) as Record<string, number[]>;
  try {
    for (const build of ['jsep', 'jspi'] as const) {
      for (const ep of ['wasm', 'webgpu'] as const) {
        const page = await browser.newPage();
        await page.goto(`${server.url}/`);
        const result = await page.evaluate(
          async ([build, ep, shapes]) => {
            type Ort = typeof import('onnxruntime-web/webgpu');
            const url = `/packages/ort/${build === 'jspi' ? 'ort.jspi.min.mjs' : 'ort.webgpu.min.mjs'}`;
            const ort = (await import(/* @vite-ignore */ url)) as Ort;
            ort.env.wasm.numThreads = 1;
            ort.env.logLevel = 'verbose';
            const logs: string[] = [];
            for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const)
              console[m] = (...a: unknown[]) => void logs.push(a.map(String).join(' '));
            // (no named functions in here: the runner's transpiler would wrap them in a helper
            // that does not exist in the page)
            const arrays: Record<string, Float32Array> = {};
            for (const name of [...Object.keys(shapes), 'ref'])
              arrays[name] = new Float32Array(await (await fetch(`/${name}.f32`)).arrayBuffer());
            const session = await ort.InferenceSession.create('/attention.onnx', {
              executionProviders: [ep],
              logSeverityLevel: 0,
            });
            const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
            for (const [name, dims] of Object.entries(shapes))
              feeds[name] = new ort.Tensor('float32', arrays[name]!, dims);
            const y = (await session.run(feeds))['y']!.data as Float32Array;
            const ref = arrays['ref']!;
            let maxAbsDiff = 0;
            for (let i = 0; i < y.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(y[i]! - ref[i]!));
            const placed = logs.find((l) => /nodes placed on|Node\(s\) placed on/.test(l)) ?? '';
            return { maxAbsDiff, placed: placed.replace(/^.*\] /, '') };
          },
          [build, ep, shapes] as const,
        );
        console.log(JSON.stringify({ build, ep, ...result }));
        await page.close();
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
