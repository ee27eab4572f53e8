/**
 * `npx tsx bench/fullsize/editStress.ts --package DIR --app DIR [--edits 10] [--steps 2]
 *   [--backend wasm|webgpu] [--dtype q4] [--memory phased] [--build jsep|jspi] [--timeout 900]`:
 * loads and edits one package again and again through the app's worker (the test API's
 * `editDirect`: a fresh worker per edit, the model store kept after the first), and counts edits
 * that fail or do not finish within `--timeout` seconds. The full-size edit that once hung did
 * so in this path; `--app` is a built app (`npx vite build --outDir DIR`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
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
    },
  });
  if (!values.package || !values.app) throw new Error('--package DIR and --app DIR are required');
  const server = await serveStatic(resolve(values.app), { p: resolve(values.package) }, Number(values.port));
  const profile = mkdtempSync(join(tmpdir(), 'editmgt-edit-stress-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  const tally = { ok: 0, failed: 0, stalled: 0 };
  const seconds: number[] = [];
  try {
    for (let i = 0; i < Number(values.edits); i++) {
      const page = await ctx.newPage();
      await page.goto(`${server.url}/?test`);
      await page.waitForFunction(() => window.__editmgt !== undefined);
      const started = Date.now();
      const w = 96;
      const h = 64;
      const edit = page
        .evaluate(
          (x) => {
            const data = new Uint8ClampedArray(x.w * x.h * 4);
            for (let k = 0; k < x.w * x.h; k++) data.set([(k * 7) % 256, (k * 3) % 256, 128, 255], k * 4);
            return window.__editmgt!.editDirect({
              baseUrl: '/packages/p/',
              backend: x.backend as 'wasm',
              dtype: x.dtype as 'q4',
              image: { width: x.w, height: x.h, buffer: data.buffer },
              instruction: 'make the circle blue',
              settings: x.settings,
              ...(x.memory ? { memory: x.memory as 'phased' } : {}),
              ...(x.build ? { build: x.build as 'jsep' } : {}),
            });
          },
          {
            w,
            h,
            backend: values.backend,
            dtype: values.dtype,
            settings: settings(Number(values.steps)),
            memory: values.memory,
            build: values.build,
          },
        )
        .then(
          (r) => ({ ok: true as const, steps: r.steps.length }),
          (e: unknown) => ({ ok: false as const, error: String(e).split('\n')[0] }),
        );
      const timeout = new Promise<'stalled'>((r) =>
        setTimeout(() => r('stalled'), Number(values.timeout) * 1000),
      );
      const r = await Promise.race([edit, timeout]);
      const s = (Date.now() - started) / 1000;
      if (r === 'stalled') {
        tally.stalled++;
        console.log(`edit ${i + 1}: STALLED after ${s.toFixed(1)} s`);
      } else if (!r.ok) {
        tally.failed++;
        console.log(`edit ${i + 1}: failed in ${s.toFixed(1)} s: ${r.error}`);
      } else {
        tally.ok++;
        seconds.push(s);
        console.log(`edit ${i + 1}: ok in ${s.toFixed(1)} s (${r.steps} steps)`);
      }
      await page.close();
    }
  } finally {
    await ctx.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ ...tally, seconds: seconds.map((s) => Math.round(s * 10) / 10) }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
