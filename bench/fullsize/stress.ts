/**
 * `npx tsx bench/fullsize/stress.ts --package DIR [--loads 30] [--backend webgpu|wasm] [--build jspi|jsep] [--memory phased]`:
 * loads one package again and again through the app's worker (a fresh worker per load, the
 * model store kept after the first) and counts loads that fail or do not finish within
 * `--timeout` seconds. For session-creation stalls that show in a few loads of many. `--app` is
 * a built app (default: the one `npm run fullsize` builds; `npx vite build --outDir DIR` makes
 * another); STRESS_DEBUG=1 prints the page's and the worker's console, timed from each load's start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../scripts/chromium';
import type { MemoryPolicy } from '../../src/engine/index';
import type { Backend, Dtype } from '../../src/protocol/messages';
import type { BuildChoice } from './pageTypes';
import { serveStatic } from './server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      package: { type: 'string' },
      app: { type: 'string', default: 'tools/export/.cache/browser-fullsize/app' },
      loads: { type: 'string', default: '30' },
      build: { type: 'string', default: 'jspi' },
      backend: { type: 'string', default: 'webgpu' },
      memory: { type: 'string' },
      dtype: { type: 'string', default: 'q4' },
      timeout: { type: 'string', default: '180' },
      port: { type: 'string', default: '4195' },
    },
  });
  if (!values.package) throw new Error('--package DIR is required');
  const server = await serveStatic(resolve(values.app), { p: resolve(values.package) }, Number(values.port));
  const profile = mkdtempSync(join(tmpdir(), 'editmgt-stress-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  const tally = { ok: 0, failed: 0, stalled: 0 };
  try {
    for (let i = 0; i < Number(values.loads); i++) {
      const page = await ctx.newPage();
      let t0 = Date.now();
      if (process.env['STRESS_DEBUG'])
        page.on('console', (m) =>
          console.error(`[page +${((Date.now() - t0) / 1000).toFixed(1)}] ${m.text()}`),
        );
      await page.goto(`${server.url}/bench.html`);
      await page.waitForFunction(() => window.__fullsize !== undefined);
      const started = Date.now();
      t0 = started;
      const load = page.evaluate((x) => window.__fullsize!.load(x), {
        baseUrl: '/packages/p/',
        backend: values.backend as Backend,
        dtype: values.dtype as Dtype,
        build: values.build as BuildChoice,
        memory: values.memory as MemoryPolicy | undefined,
        clearCache: i === 0,
        // never settles with a WASM thread pool (pageTypes.ts), and a stall count needs no heap
        jsHeap: false,
      });
      const timeout = new Promise<'stalled'>((r) =>
        setTimeout(() => r('stalled'), Number(values.timeout) * 1000),
      );
      const r = await Promise.race([load, timeout]);
      const s = ((Date.now() - started) / 1000).toFixed(1);
      if (r === 'stalled') {
        tally.stalled++;
        console.log(`load ${i + 1}: STALLED after ${s} s`);
      } else if (!r.ok) {
        tally.failed++;
        console.log(`load ${i + 1}: failed in ${s} s: ${r.error}`);
      } else {
        tally.ok++;
        console.log(`load ${i + 1}: ok in ${s} s (${r.build}, ${r.memory})`);
      }
      await page.close();
    }
  } finally {
    await ctx.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  console.log(JSON.stringify(tally));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
