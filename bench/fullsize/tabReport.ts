/**
 * The tab conversion measurement's pure parts (bench/fullsize/tabConvert.ts): the template index
 * the server adds folders to, what one case measured, and its Markdown table.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PhaseTotals } from './tabTree';

const MiB = 1024 * 1024;

export interface TemplatesIndex {
  templates: { name: string; files: Record<string, number> }[];
}

/** Every file under `dir` with its size, `/`-separated and sorted, dot-files left out (as the build lists them). */
export function filesUnder(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (r: string) => {
    for (const e of readdirSync(join(dir, r), { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const path = r ? `${r}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) out[path] = statSync(join(dir, path)).size;
    }
  };
  walk('');
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Bytes of every file under `dir` (a profile folder). */
export function bytesUnder(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) n += statSync(p).size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return n;
}

/** The app's template index with `extra` added (a folder of the same name replaced). */
export function withTemplates(index: TemplatesIndex, extra: Record<string, string>): TemplatesIndex {
  const added = Object.entries(extra).map(([name, dir]) => ({ name, files: filesUnder(dir) }));
  return {
    templates: [...index.templates.filter((t) => !Object.hasOwn(extra, t.name)), ...added],
  };
}

/** The page's workers' heaps (Runtime.getHeapUsage), summed over the workers that answered. */
export interface WorkerHeap {
  workers: number;
  /** V8's used JS heap */
  js_heap_bytes: number;
  /** ArrayBuffers' backing stores (outside the JS heap) */
  array_buffer_bytes: number;
}

export interface TabCase {
  kind: 'convert' | 'copy';
  folder: string;
  name: string;
  folder_bytes: number;
  folder_files: number;
  backend: string;
  dtype: string | null;
  ok: boolean;
  error: string | null;
  /** What the page said: the offer's model line, the notice when converted or copied. */
  offer: string | null;
  offer_space: string | null;
  notice: string | null;
  /** seconds: folder chosen → offer shown (convert only); accept (or choice) → converted or copied; → loaded. */
  offer_s: number | null;
  work_s: number | null;
  ready_s: number | null;
  /** the phase of the conversion or copy (accept → notice), and of the load after it */
  work: PhaseTotals | null;
  load: PhaseTotals | null;
  /** the page's renderer's RSS when the folder was chosen (the editor with the tiny model loaded) */
  renderer_before_bytes: number;
  /** the workers' heaps (peaks of their sums, sampled), in the conversion or copy and in the load */
  worker_heap_work: WorkerHeap | null;
  worker_heap_load: WorkerHeap | null;
  /** navigator.storage.estimate().usage once loaded, and the profile folder's size on disk then */
  storage_usage_bytes: number | null;
  profile_bytes: number | null;
  /** the last progress line the page showed before it finished or failed */
  last_progress: string | null;
}

export const mib = (b: number | null | undefined) =>
  b == null ? '–' : `${Math.round(b / MiB).toLocaleString('en-US')} MiB`;
export const secs = (s: number | null) =>
  s === null ? '–' : s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`;

export function tabMarkdown(cases: readonly TabCase[]): string {
  const rows = cases.map((c) => {
    const w = c.work;
    const l = c.load;
    return `| ${c.kind} | ${c.name} (${(c.folder_bytes / 1e9).toFixed(2)} GB) | ${c.dtype ?? '–'} | ${c.ok ? 'ok' : `failed: ${c.error}`} | ${secs(c.work_s)} | ${w ? `${w.cpu_s.toFixed(0)} s` : '–'} | ${mib(w?.peak_largest_renderer_bytes)} | ${mib(w?.peak_tree_bytes)} | ${mib(w?.peak_gpu_process_bytes)} | ${c.worker_heap_work ? `${mib(c.worker_heap_work.js_heap_bytes)} / ${mib(c.worker_heap_work.array_buffer_bytes)}` : '–'} | ${w ? `${(w.rchar_bytes / 1e9).toFixed(2)} / ${(w.read_bytes / 1e9).toFixed(2)} GB` : '–'} | ${secs(c.ready_s)} | ${mib(l?.peak_largest_renderer_bytes)} | ${mib(c.storage_usage_bytes)} |`;
  });
  return [
    '| case | folder | dtype | result | accept → done | CPU (tree) | page renderer peak | all processes peak | GPU process peak | workers’ JS heap / ArrayBuffers | read (rchar / storage) | accept → loaded | renderer peak (load) | stored |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
