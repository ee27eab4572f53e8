/**
 * The browser half of the benchmark: builds the app (with bench.html) into a cache folder, serves
 * it with `vite preview` (COOP/COEP, so WASM can use threads), and drives `window.__bench` in
 * system Chromium through playwright-core — one fresh browser profile per backend × dtype, so the
 * cold load really starts from an empty cache and peak memory belongs to that run alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';
import type { PageRunOptions, PageRunResult } from './pageTypes';
import { deltas, median, overheadPct, quantile, readbackAt, sum } from '../report/stats';
import type { BackendName, BenchRun } from '../report/types';
import { emptyRun } from '../report/types';

import { CHROMIUM, CHROMIUM_ARGS } from '../../scripts/chromium';

export { CHROMIUM, CHROMIUM_ARGS };

export function buildApp(outDir: string): void {
  const r = spawnSync('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status})`);
}

export interface Server {
  url: string;
  close(): void;
}

export async function serve(outDir: string, port: number): Promise<Server> {
  const child: ChildProcess = spawn(
    'npx',
    ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--outDir', outDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const close = () => {
    // the preview runs under npx: end its whole process group, which we started
    if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  };
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null)
      throw new Error(`vite preview exited (${child.exitCode}); is port ${port} free?`);
    try {
      if ((await fetch(`${url}/bench.html`)).ok) return { url, close };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  close();
  throw new Error('vite preview did not start within 60 s');
}

/** Peak resident memory of the profile's renderer and GPU processes (Linux /proc), summed. */
function chromiumPeakRss(profile: string): number | null {
  let total = 0;
  let found = false;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(profile) && !cmd.includes(`--user-data-dir=${profile}`)) continue;
      if (!/--type=(renderer|gpu-process)/.test(cmd)) continue;
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) {
        total += Number(m[1]) * 1024;
        found = true;
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return found ? total : null;
}

export interface BrowserCase {
  backend: BackendName;
  dtype: string;
  model: string;
  threads: number;
  steps: number;
  warmSteps: number;
  prompt: string;
  warmPrompt: string;
  stepOptions?: PageRunOptions['stepOptions'];
}

async function withProfile<T>(fn: (ctx: BrowserContext, profile: string) => Promise<T>): Promise<T> {
  const profile = mkdtempSync(join(tmpdir(), 'editmgt-bench-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  try {
    return await fn(ctx, profile);
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

export async function benchBrowser(
  server: Server,
  c: BrowserCase,
  timeoutMs: number,
): Promise<{ run: BenchRun; adapter: string | null }> {
  return withProfile(async (ctx, profile) => {
    const page = await ctx.newPage();
    page.setDefaultTimeout(timeoutMs);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // a missing favicon is not the run's error
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    if (process.env['BENCH_DEBUG'])
      page.on('console', (m) => console.error(`[page ${m.type()}] ${m.text()}`));
    await page.goto(`${server.url}/bench.html`);
    await page.waitForFunction(() => window.__bench?.ready === true);
    const options: PageRunOptions = {
      backend: c.backend === 'webgpu' ? 'webgpu' : 'wasm',
      threads: c.threads,
      baseUrl: `/models/${c.model}/`,
      dtype: c.dtype as PageRunOptions['dtype'],
      warmSteps: c.warmSteps,
      steps: c.steps,
      warmPrompt: c.warmPrompt,
      prompt: c.prompt,
      ...(c.stepOptions ? { stepOptions: c.stepOptions } : {}),
    };
    let r: PageRunResult;
    try {
      r = await page.evaluate((o) => window.__bench!.run(o), options);
    } catch (err) {
      const line =
        ((err as Error).message.split('\n')[0] ?? 'failed') + (errors.length ? ` (${errors[0]})` : '');
      const run = emptyRun(c.backend, c.model, c.dtype, c.threads, c.steps, line);
      return { run: c.stepOptions ? { ...run, options: optionsLabel(c.stepOptions) } : run, adapter: null };
    }
    return { run: toRun(c, r, chromiumPeakRss(profile)), adapter: r.backend.adapter ?? null };
  });
}

export function optionsLabel(o: NonNullable<PageRunOptions['stepOptions']>): string {
  return `graph-capture=${o.graphCapture ? 1 : 0} free-dims=${o.freeDimensionOverrides ? 1 : 0}`;
}

function toRun(c: BrowserCase, r: PageRunResult, peak: number | null): BenchRun {
  const e = r.edit;
  const g = (name: string) => e.graphs[name]?.ms ?? [];
  const stepMs = deltas(e.stepElapsedMs);
  const stepGraph = g('transformer_step');
  const steady = stepMs.length ? stepMs : stepGraph.slice(0, 1);
  const [gh, gw] = r.model.grid;
  const fellBack = r.backend.backend !== (c.backend === 'webgpu' ? 'webgpu' : 'wasm');
  return {
    ...emptyRun(
      c.backend,
      r.model.name,
      r.model.dtype,
      r.backend.threads,
      c.steps,
      fellBack ? `fell back to ${r.backend.backend}: ${r.backend.fallbackReason ?? ''}` : 'ok',
    ),
    load_cold_ms: r.loadColdMs,
    load_cached_ms: r.loadCachedMs,
    text_encode_ms: sum(g('text_llm')) + sum(g('text_clip')),
    vq_encode_ms: sum(g('vq_encode')),
    step_ms_median: median(steady),
    step_ms_p90: quantile(steady, 0.9),
    decode_ms: sum(g('vq_decode')),
    edit_ms: e.clientMs,
    first_step_ms: e.firstStepMs,
    readback_bytes_per_step: e.graphs['transformer_step']?.readbackBytes ?? null,
    readback_bytes_per_step_1024: readbackAt({ h: 64, w: 64 }, { h: 32, w: 32 }),
    peak_rss_bytes: peak,
    overhead_pct: stepMs.length ? overheadPct(stepMs, stepGraph.slice(1)) : null,
    ...(c.stepOptions ? { options: optionsLabel(c.stepOptions) } : {}),
    tokens_hash: e.tokensHash,
    note: `sessions ${r.sessionsColdMs.toFixed(0)} ms cold / ${r.sessionsCachedMs.toFixed(0)} ms cached; grid ${gh}×${gw}${r.backend.adapter ? `; adapter ${r.backend.adapter}` : ''}`,
  };
}

/** Screenshots an SVG at its own size. */
export async function renderPng(svg: string, width: number, height: number, out: string): Promise<void> {
  await withProfile(async (ctx) => {
    const page = await ctx.newPage();
    await page.setViewportSize({ width, height });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
    await page.screenshot({ path: out, clip: { x: 0, y: 0, width, height } });
  });
}
