/**
 * `npx tsx bench/fullsize/editStress.ts --package DIR --app DIR [--edits 10] [--steps 2]
 *   [--backend wasm|webgpu] [--dtype q4] [--memory phased] [--build jsep|jspi] [--timeout 900]
 *   [--compare-node] [--json FILE]`:
 * loads and edits one package again and again through the app's worker (the test API's
 * `editDirect`: a fresh worker per edit, the model store kept after the first), and counts edits
 * that fail or do not finish within `--timeout` seconds. The full-size edit that once hung did
 * so in this path; `--app` is a built app (`npx vite build --outDir DIR`). With `--compare-node`
 * the same edit (same picture, settings, seed and memory policy) runs first on onnxruntime-node,
 * and every completed browser edit reports the share of its tokens equal to node's at each step.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { fallbackEditOptions } from '../../src/engine/index';
import type { Dtype, MemoryPolicy } from '../../src/engine/index';
import { cpuOptions, Editor, packageSource } from '../../src/engine/runtime/node/index';
import { CHROMIUM, CHROMIUM_ARGS } from '../../scripts/chromium';
import { serveStatic } from './server';

/** Every edit setting, as the worker takes them (the engine's fallbacks, steps from the flag). */
function settings(steps: number) {
  return {
    steps,
    guidance: 6,
    referenceStrength: 1.1,
    hold: 0.01,
    seed: 1234,
    negativePrompt: 'blurry',
    composite: true,
  };
}

const W = 96;
const H = 64;
const INSTRUCTION = 'make the circle blue';

/** The edit's picture: the same bytes in the page and on node. */
function picture(w: number, h: number): Uint8ClampedArray {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let k = 0; k < w * h; k++) data.set([(k * 7) % 256, (k * 3) % 256, 128, 255], k * 4);
  return data;
}

/** The same edit on onnxruntime-node: every step's tokens, and the seconds it took. */
async function nodeEdit(dir: string, dtype: string, steps: number, memory?: string) {
  const started = Date.now();
  const opened = await Editor.open(
    packageSource(dir),
    cpuOptions(dtype as Dtype, memory ? { memory: memory as MemoryPolicy } : {}),
  );
  const tokens: number[][] = [];
  try {
    await opened.engine.edit(
      {
        ...fallbackEditOptions(),
        ...settings(steps),
        image: { width: W, height: H, data: picture(W, H) },
        prompt: INSTRUCTION,
      },
      { onStep: (e) => tokens.push([...e.tokens]) },
    );
  } finally {
    await opened.dispose();
  }
  return { tokens, seconds: (Date.now() - started) / 1000 };
}

/** The share of equal tokens at each step. */
function agreement(a: number[][], b: number[][]): number[] {
  return a.map((step, i) => {
    const other = b[i] ?? [];
    let same = 0;
    for (let k = 0; k < step.length; k++) if (step[k] === other[k]) same++;
    return step.length === 0 ? 0 : same / step.length;
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      package: { type: 'string' },
      app: { type: 'string' },
      edits: { type: 'string', default: '10' },
      steps: { type: 'string', default: '2' },
      backend: { type: 'string', default: 'wasm' },
      dtype: { type: 'string', default: 'q4' },
      memory: { type: 'string' },
      build: { type: 'string' },
      timeout: { type: 'string', default: '900' },
      port: { type: 'string', default: '4198' },
      'compare-node': { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  if (!values.package || !values.app) throw new Error('--package DIR and --app DIR are required');
  let reference: { tokens: number[][]; seconds: number } | null = null;
  if (values['compare-node']) {
    reference = await nodeEdit(resolve(values.package), values.dtype, Number(values.steps), values.memory);
    console.log(
      `node: ${reference.tokens.length} steps in ${reference.seconds.toFixed(1)} s (open included)`,
    );
  }
  const server = await serveStatic(resolve(values.app), { p: resolve(values.package) }, Number(values.port));
  const profile = mkdtempSync(join(tmpdir(), 'editmgt-edit-stress-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  const tally = { ok: 0, failed: 0, stalled: 0 };
  const seconds: number[] = [];
  const edits: {
    outcome: string;
    seconds: number;
    editSeconds?: number;
    equalToNode?: number[];
    error?: string;
  }[] = [];
  try {
    for (let i = 0; i < Number(values.edits); i++) {
      const page = await ctx.newPage();
      await page.goto(`${server.url}/?test`);
      await page.waitForFunction(() => window.__editmgt !== undefined);
      const started = Date.now();
      const edit = page
        .evaluate(
          async (x) => {
            const data = new Uint8ClampedArray(x.pixels);
            const r = await window.__editmgt!.editDirect({
              baseUrl: '/packages/p/',
              backend: x.backend as 'wasm',
              dtype: x.dtype as 'q4',
              image: { width: x.w, height: x.h, buffer: data.buffer },
              instruction: x.instruction,
              settings: x.settings,
              ...(x.memory ? { memory: x.memory as 'phased' } : {}),
              ...(x.build ? { build: x.build as 'jsep' } : {}),
            });
            return { steps: r.steps, ms: r.ms };
          },
          {
            w: W,
            h: H,
            pixels: [...picture(W, H)],
            instruction: INSTRUCTION,
            backend: values.backend,
            dtype: values.dtype,
            settings: settings(Number(values.steps)),
            memory: values.memory,
            build: values.build,
          },
        )
        .then(
          (r) => ({ ok: true as const, steps: r.steps, ms: r.ms }),
          (e: unknown) => ({ ok: false as const, error: String(e).split('\n')[0] }),
        );
      const timeout = new Promise<'stalled'>((r) =>
        setTimeout(() => r('stalled'), Number(values.timeout) * 1000),
      );
      const r = await Promise.race([edit, timeout]);
      const s = (Date.now() - started) / 1000;
      if (r === 'stalled') {
        tally.stalled++;
        edits.push({ outcome: 'stalled', seconds: s });
        console.log(`edit ${i + 1}: STALLED after ${s.toFixed(1)} s`);
      } else if (!r.ok) {
        tally.failed++;
        edits.push({ outcome: 'failed', seconds: s, error: r.error });
        console.log(`edit ${i + 1}: failed in ${s.toFixed(1)} s: ${r.error}`);
      } else {
        tally.ok++;
        seconds.push(s);
        const equal = reference ? agreement(r.steps, reference.tokens) : undefined;
        edits.push({
          outcome: 'ok',
          seconds: s,
          editSeconds: r.ms / 1000,
          ...(equal ? { equalToNode: equal } : {}),
        });
        const shares = equal
          ? `, tokens equal to node's: ${equal.map((e) => `${(e * 100).toFixed(1)} %`).join(', ')}`
          : '';
        console.log(
          `edit ${i + 1}: ok in ${s.toFixed(1)} s (${r.steps.length} steps, edit ${(r.ms / 1000).toFixed(1)} s${shares})`,
        );
      }
      await page.close();
    }
  } finally {
    await ctx.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  const summary = { ...tally, seconds: seconds.map((s) => Math.round(s * 10) / 10) };
  console.log(JSON.stringify(summary));
  if (values.json) {
    writeFileSync(
      values.json,
      JSON.stringify(
        { args: values, node: reference ? { seconds: reference.seconds } : null, ...summary, edits },
        null,
        1,
      ),
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
