/**
 * The benchmark page: the app's EngineClient (same worker, same engine) driven by
 * bench/browser/driver.ts through `window.__bench`. Nothing is measured here that the worker does not
 * report itself, except page-side wall times (what a user of the app waits for).
 */
import { EngineClient } from '../../src/protocol/engineClient';
import type { GraphStats, WorkerReply } from '../../src/protocol/messages';
import type { RuntimeOptions } from '../../src/engine/internal';
import { benchImage } from '../benchImage';
import { fnv1a } from '../report/stats';
import '../fullsize/page'; // window.__fullsize: the full-size measurement's functions (bench/fullsize/run.ts)
import type { PageRunOptions, PageRunResult } from './pageTypes';

function fail(r: WorkerReply): never {
  throw new Error(r.type === 'error' ? `${r.code}: ${r.message}` : `unexpected ${r.type} reply`);
}

/** The step-graph options as runtime options (src/engine/runtimeOptions.ts). */
function runtimeOptions(o: PageRunOptions): RuntimeOptions {
  const s = o.stepOptions;
  return s ? { graphCapture: s.graphCapture, freeDimensionOverrides: s.freeDimensionOverrides } : {};
}

async function initClient(
  o: PageRunOptions,
): Promise<{ client: EngineClient; backend: Extract<WorkerReply, { type: 'backend' }>['info'] }> {
  const client = new EngineClient(runtimeOptions(o));
  await client.handshake();
  const r = await client.request({ type: 'init', backend: o.backend, wasmThreads: o.threads });
  if (r.type !== 'backend') fail(r);
  return { client, backend: r.info };
}

async function stats(
  client: EngineClient,
  reset: boolean,
): Promise<{ graphs: Record<string, GraphStats>; loadMs: number }> {
  const r = await client.request({ type: 'stats', reset });
  if (r.type !== 'stats') fail(r);
  return { graphs: r.graphs, loadMs: r.loadMs };
}

async function timedEdit(
  client: EngineClient,
  o: PageRunOptions,
  prompt: string,
  steps: number,
  resolution: number,
  defaults: Awaited<ReturnType<EngineClient['loadModel']>>['defaults'],
) {
  const img = benchImage(resolution);
  const stepElapsedMs: number[] = [];
  const label = current;
  let firstStepMs = NaN;
  let last: ArrayBuffer | null = null;
  const started = performance.now();
  const result = await client.edit(
    {
      image: { width: img.width, height: img.height, buffer: img.data.buffer as ArrayBuffer },
      instruction: prompt,
      settings: { ...defaults, steps, seed: 1 },
    },
    {
      onStep: (s) => {
        if (stepElapsedMs.length === 0) firstStepMs = performance.now() - started;
        stepElapsedMs.push(s.elapsedMs);
        last = s.tokens;
        current = `${label}, after step ${stepElapsedMs.length}`;
      },
    },
  );
  const clientMs = performance.now() - started;
  return {
    clientMs,
    engineMs: result.ms,
    firstStepMs,
    stepElapsedMs,
    tokensHash: last ? fnv1a(new Uint8Array(last)) : '',
  };
}

let current = '';
const phase = (name: string) => {
  current = name;
  console.info(`bench: ${name}`);
};

/** Errors name the phase they came from (a failure in the warm-up edit differs from one at load). */
async function run(o: PageRunOptions): Promise<PageRunResult> {
  try {
    return await measure(o);
  } catch (err) {
    throw new Error(`${current}: ${(err as Error).message}`, { cause: err });
  }
}

async function measure(o: PageRunOptions): Promise<PageRunResult> {
  phase('cold load');
  // Cold: an empty package cache, then download + verify + create sessions.
  const first = await initClient(o);
  await first.client.clearCache();
  let t = performance.now();
  const info = await first.client.loadModel(o.baseUrl, o.dtype, () => undefined);
  const loadColdMs = performance.now() - t;
  const sessionsColdMs = (await stats(first.client, true)).loadMs;
  phase('warm-up edit');
  await timedEdit(first.client, o, o.warmPrompt, o.warmSteps, info.resolution, info.defaults);
  await stats(first.client, true);
  phase('measured edit');
  const edit = await timedEdit(first.client, o, o.prompt, o.steps, info.resolution, info.defaults);
  const { graphs } = await stats(first.client, true);
  first.client.dispose();

  phase('cached load');
  // Cached: a fresh worker, the files already in OPFS.
  const second = await initClient(o);
  t = performance.now();
  await second.client.loadModel(o.baseUrl, o.dtype, () => undefined);
  const loadCachedMs = performance.now() - t;
  const sessionsCachedMs = (await stats(second.client, false)).loadMs;
  second.client.dispose();

  return {
    backend: info.backend,
    model: { name: info.name, dtype: info.dtype, resolution: info.resolution, grid: info.tokenGrid },
    loadColdMs,
    loadCachedMs,
    sessionsColdMs,
    sessionsCachedMs,
    edit: { ...edit, graphs },
  };
}

/** Shows an SVG (the chart) alone on the page, for a screenshot. */
function chart(svg: string): void {
  document.body.innerHTML = svg;
  document.body.style.margin = '0';
  document.body.style.background = '#fff';
}

declare global {
  interface Window {
    __bench?: { ready: true; run: typeof run; chart: typeof chart };
  }
}

window.__bench = { ready: true, run, chart };
const status = document.getElementById('status');
if (status) status.textContent = 'benchmark page ready';
