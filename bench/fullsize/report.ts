/**
 * The full-size measurement's report: one entry per run (a package loaded on a backend, a step
 * compared between runtimes, a node step), assembled from what the driver measured, and the
 * Markdown table docs/fullsize.md shows. Pure: data in, data out.
 */
import type { GraphCheck, LoadResult, StepResult } from './pageTypes';
import type { RequestLogEntry } from './server';

export interface GraphReport {
  created: boolean;
  cpu_nodes: string[] | null;
  error: string | null;
}

export interface LoadRun {
  kind: 'browser-load';
  package: string;
  dtype: string;
  resolution: number;
  backend: 'webgpu' | 'wasm';
  /** The onnxruntime-web build the worker ran ('jspi': external data streamed from OPFS Files). */
  build: 'jspi' | 'jsep' | null;
  /** The engine's memory policy for the package ('phased': one phase's sessions at a time). */
  memory: 'all' | 'release-text' | 'phased' | null;
  /** Bytes of the dtype's graph files (what a first visit downloads besides tokenizers). */
  package_bytes: number;
  max_buffer_bytes: number | null;
  load_ok: boolean;
  load_error: string | null;
  load_ms: number;
  graphs: Record<string, GraphReport>;
  peak_renderer_bytes: number;
  peak_gpu_process_bytes: number;
  /** Renderer + GPU process sampled together (≤ the sum of the two peaks). */
  peak_renderer_plus_gpu_bytes: number;
  wasm_heap_bytes: number | null;
  js_heap_bytes: number | null;
  js_heap_note: string | null;
  reload_ok: boolean;
  reload_error: string | null;
  reload_ms: number;
  /** Package files requested from the server during the reload (the manifest is asked for fresh by design and not counted). */
  reload_downloaded: string[];
  reload_wasm_heap_bytes: number | null;
  reload_peak_renderer_plus_gpu_bytes: number;
  /** Before the reload: the dtype's graph files in the model store, and how many carry their verified mark (a marked file is not hashed again). */
  reload_store: { files: number; stored: number; marked: number };
}

export interface StepParityRun {
  kind: 'step-parity';
  package: string;
  dtype: string;
  resolution: number;
  backend: 'webgpu';
  reference: 'onnxruntime-node';
  ok: boolean;
  error: string | null;
  browser_ms: number;
  node_ms: number;
  /** max |browser − node| over drawn_probs and ref_probs. */
  max_abs_diff_probs: number | null;
  /** Fraction of drawn_ids equal in both runtimes. */
  id_agreement: number | null;
}

export interface NodeStepRun {
  kind: 'node-step';
  package: string;
  dtype: string;
  resolution: number;
  backend: 'onnxruntime-node';
  ok: boolean;
  error: string | null;
  step_ms: number | null;
  session_create_ms: number | null;
  peak_rss_bytes: number | null;
}

export type FullsizeRun = LoadRun | StepParityRun | NodeStepRun;

/** Package files requested in a log slice, the manifest (always fetched fresh) left out. */
export function downloadedFiles(log: readonly RequestLogEntry[], packagePrefix: string): string[] {
  return log
    .filter((e) => e.status === 200 && e.path.startsWith(packagePrefix))
    .map((e) => e.path.slice(packagePrefix.length).split('?')[0]!)
    .filter((p) => p !== 'manifest.json');
}

export function graphReport(checks: Record<string, GraphCheck>): Record<string, GraphReport> {
  return Object.fromEntries(
    Object.entries(checks).map(([g, c]) => [
      g,
      { created: c.created, cpu_nodes: c.cpuNodes, error: c.error },
    ]),
  );
}

export interface LoadMeasurements {
  package: string;
  dtype: string;
  resolution: number;
  backend: 'webgpu' | 'wasm';
  packageBytes: number;
  maxBufferBytes: number | null;
  first: LoadResult;
  firstPeak: { renderer: number; gpu: number; together: number };
  reload: LoadResult;
  reloadPeak: { together: number };
  reloadDownloaded: string[];
  reloadStore: { files: number; stored: number; marked: number };
  graphs: Record<string, GraphCheck>;
}

export function assembleLoadRun(m: LoadMeasurements): LoadRun {
  return {
    kind: 'browser-load',
    package: m.package,
    dtype: m.dtype,
    resolution: m.resolution,
    backend: m.backend,
    build: m.first.build,
    memory: m.first.memory,
    package_bytes: m.packageBytes,
    max_buffer_bytes: m.maxBufferBytes,
    load_ok: m.first.ok,
    load_error: m.first.error,
    load_ms: Math.round(m.first.ms),
    graphs: graphReport(m.graphs),
    peak_renderer_bytes: m.firstPeak.renderer,
    peak_gpu_process_bytes: m.firstPeak.gpu,
    peak_renderer_plus_gpu_bytes: m.firstPeak.together,
    wasm_heap_bytes: m.first.wasmHeapBytes,
    js_heap_bytes: m.first.jsHeapBytes,
    js_heap_note: m.first.jsHeapNote,
    // a reload counts only when the model opened again without fetching a package file
    reload_ok: m.reload.ok && m.reloadDownloaded.length === 0,
    reload_error:
      m.reload.error ??
      (m.reloadDownloaded.length ? `downloaded again: ${m.reloadDownloaded.join(', ')}` : null),
    reload_ms: Math.round(m.reload.ms),
    reload_downloaded: m.reloadDownloaded,
    reload_wasm_heap_bytes: m.reload.wasmHeapBytes,
    reload_peak_renderer_plus_gpu_bytes: m.reloadPeak.together,
    reload_store: m.reloadStore,
  };
}

/** Max |a − b| over the named float outputs, and the share of equal ids. */
export function compareStep(
  browser: StepResult,
  node: Record<string, ArrayLike<number>>,
  probs = ['drawn_probs', 'ref_probs'],
  ids = 'drawn_ids',
): { maxAbsDiff: number; idAgreement: number } {
  let maxAbsDiff = 0;
  for (const name of probs) {
    const a = browser.outputs[name];
    const b = node[name];
    if (!a || !b || a.length !== b.length) throw new Error(`output ${name} differs in presence or length`);
    for (let i = 0; i < a.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i]! - b[i]!));
  }
  const a = browser.outputs[ids];
  const b = node[ids];
  if (!a || !b || a.length !== b.length) throw new Error(`output ${ids} differs in presence or length`);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return { maxAbsDiff, idAgreement: a.length ? same / a.length : 1 };
}

const mb = (b: number | null) => (b === null ? '—' : `${Math.round(b / 2 ** 20).toLocaleString('en')} MiB`);

export function markdownTable(runs: readonly FullsizeRun[]): string {
  const lines: string[] = [];
  const loads = runs.filter((r): r is LoadRun => r.kind === 'browser-load');
  if (loads.length) {
    lines.push(
      '| package | dtype | px | backend | build | memory | graphs created | CPU nodes (step) | load | renderer peak | GPU process peak | together | WASM heap | JS heap | reload |',
    );
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of loads) {
      const g = Object.values(r.graphs);
      const created = `${g.filter((x) => x.created).length}/${g.length}`;
      const step = r.graphs['transformer_step']?.cpu_nodes;
      const load = r.load_ok ? `${(r.load_ms / 1000).toFixed(1)} s` : `failed: ${r.load_error}`;
      const marks = `${r.reload_store.marked}/${r.reload_store.files} marked`;
      const reload = r.reload_ok
        ? `ok, ${(r.reload_ms / 1000).toFixed(1)} s, 0 files, ${marks}`
        : `no: ${r.reload_error} (${marks})`;
      lines.push(
        `| ${r.package} | ${r.dtype} | ${r.resolution} | ${r.backend} | ${r.build ?? '—'} | ${r.memory ?? '—'} | ${created} | ${step ? step.length : '—'} | ${load} | ${mb(r.peak_renderer_bytes)} | ${mb(r.peak_gpu_process_bytes)} | ${mb(r.peak_renderer_plus_gpu_bytes)} | ${mb(r.wasm_heap_bytes)} | ${mb(r.js_heap_bytes)} | ${reload} |`,
      );
    }
  }
  for (const r of runs) {
    if (r.kind === 'step-parity') {
      lines.push(
        '',
        `Step on WebGPU vs onnxruntime-node (${r.package}, ${r.dtype}, ${r.resolution} px): ` +
          (r.ok
            ? `max |Δp| ${r.max_abs_diff_probs?.toExponential(2)}, ids equal ${((r.id_agreement ?? 0) * 100).toFixed(1)} %, ${(r.browser_ms / 1000).toFixed(1)} s vs ${(r.node_ms / 1000).toFixed(1)} s`
            : `failed: ${r.error}`),
      );
    } else if (r.kind === 'node-step') {
      lines.push(
        '',
        `Full-depth step on onnxruntime-node (${r.package}, ${r.dtype}, ${r.resolution} px): ` +
          (r.ok
            ? `${((r.step_ms ?? 0) / 1000).toFixed(1)} s, peak RSS ${mb(r.peak_rss_bytes)}`
            : `failed: ${r.error}`),
      );
    }
  }
  return lines.join('\n');
}
