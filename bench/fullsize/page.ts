/**
 * The full-size measurement's page functions on `window.__fullsize` (bench.html), driven by
 * bench/fullsize/run.ts: a model load through the app's worker with its memory read afterwards,
 * each graph created alone in a diagnostics worker (placement), and one transformer step.
 */
import { EngineClient } from '../../src/protocol/engineClient';
import { validateManifest } from '../../src/engine/index';
import type { Dtype, GraphName, Manifest } from '../../src/engine/index';
import { buildOption } from '../../src/engine/internal';
import type { Backend, WireTensor, WorkerReply } from '../../src/protocol/messages';
import type { GraphCheck, LoadOptions, LoadResult, StepResult } from './pageTypes';
import { stepFeeds } from './stepFeeds';

/** One graph's files in the manifest. */
type GraphFiles = NonNullable<Manifest['dtypes'][Dtype]>['graphs'][GraphName];

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const bad = (r: WorkerReply) =>
  new Error(r.type === 'error' ? `${r.code}: ${r.message}` : `unexpected ${r.type} reply`);

async function jsHeap(): Promise<{ bytes: number | null; note: string | null }> {
  const p = performance as Performance & {
    measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }>;
  };
  if (!p.measureUserAgentSpecificMemory)
    return { bytes: null, note: 'measureUserAgentSpecificMemory is not available' };
  try {
    return { bytes: (await p.measureUserAgentSpecificMemory()).bytes, note: null };
  } catch (err) {
    return { bytes: null, note: message(err) };
  }
}

async function load(o: LoadOptions): Promise<LoadResult> {
  const client = new EngineClient({
    ...buildOption(o.backend, o.build),
    ...(o.memory ? { memory: o.memory } : {}),
  });
  const out: LoadResult = {
    ok: false,
    error: null,
    ms: 0,
    sessionsMs: null,
    backend: null,
    build: null,
    memory: null,
    wasmHeapBytes: null,
    jsHeapBytes: null,
    jsHeapNote: null,
  };
  try {
    await client.handshake();
    const info = await client.init(o.backend);
    out.backend = info.backend;
    out.build = info.build ?? null;
    if (o.clearCache) await client.clearCache();
    const t = performance.now();
    try {
      out.memory = (await client.loadModel(o.baseUrl, o.dtype, () => undefined)).memory;
      out.ok = true;
    } catch (err) {
      out.error = message(err);
    }
    out.ms = performance.now() - t;
    const stats = await client.request({ type: 'stats', reset: false });
    if (stats.type === 'stats' && out.ok) out.sessionsMs = stats.loadMs;
    const mem = await client.request({ type: 'memory' });
    if (mem.type !== 'memory') throw bad(mem);
    out.wasmHeapBytes = mem.wasmHeapBytes;
    const heap = o.jsHeap === false ? { bytes: null, note: 'not measured' } : await jsHeap();
    out.jsHeapBytes = heap.bytes;
    out.jsHeapNote = heap.note;
  } catch (err) {
    out.error ??= message(err);
  } finally {
    client.dispose();
  }
  return out;
}

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

/** Creates each graph of a dtype alone (a fresh diagnostics worker each) and lists its CPU nodes. */
async function graphs(o: {
  baseUrl: string;
  backend: Backend;
  dtype: string;
}): Promise<Record<string, GraphCheck>> {
  const manifest = validateManifest(await (await fetch(`${o.baseUrl}manifest.json`)).json());
  const entries: Partial<Record<GraphName, GraphFiles>> = manifest.dtypes[o.dtype as Dtype]?.graphs ?? {};
  const out: Record<string, GraphCheck> = {};
  for (const [graph, files] of Object.entries(entries) as [GraphName, GraphFiles][]) {
    const client = new EngineClient({ diagnostics: true });
    const t = performance.now();
    try {
      const model = await fetchBytes(o.baseUrl + files.file);
      const externalData = await Promise.all(
        (files.external_data ?? []).map(async (path) => ({
          path: path.split('/').pop()!,
          data: await fetchBytes(o.baseUrl + path),
        })),
      );
      const r = await client.request({ type: 'placement', model, externalData, backend: o.backend }, [
        model,
        ...externalData.map((e) => e.data),
      ]);
      if (r.type !== 'placement') throw bad(r);
      out[graph] = {
        created: true,
        cpuNodes: o.backend === 'webgpu' ? r.cpuNodes : null,
        error: null,
        ms: performance.now() - t,
      };
    } catch (err) {
      out[graph] = { created: false, cpuNodes: null, error: message(err), ms: performance.now() - t };
    } finally {
      client.dispose();
    }
  }
  return out;
}

/** One transformer_step on the feeds node builds too (bench/fullsize/stepFeeds.ts). */
async function step(o: { baseUrl: string; backend: Backend; dtype: string }): Promise<StepResult> {
  const client = new EngineClient();
  const t = performance.now();
  try {
    const manifest = validateManifest(await (await fetch(`${o.baseUrl}manifest.json`)).json());
    const file = manifest.dtypes[o.dtype as Dtype]?.graphs.transformer_step;
    if (!file) throw new Error(`no ${o.dtype} transformer_step`);
    const model = await fetchBytes(o.baseUrl + file.file);
    const externalData = await Promise.all(
      (file.external_data ?? []).map(async (path) => ({
        path: path.split('/').pop()!,
        data: await fetchBytes(o.baseUrl + path),
      })),
    );
    const feeds: Record<string, WireTensor> = {};
    for (const [name, f] of Object.entries(stepFeeds(manifest)))
      feeds[name] = { type: f.type, dims: f.dims, buffer: f.data.buffer as ArrayBuffer };
    await client.handshake();
    await client.init(o.backend);
    const r = await client.request({ type: 'runGraph', model, feeds, backend: o.backend, externalData }, [
      model,
      ...externalData.map((e) => e.data),
      ...Object.values(feeds).map((f) => f.buffer),
    ]);
    if (r.type !== 'graphResult') throw bad(r);
    const outputs: Record<string, number[]> = {};
    for (const [name, w] of Object.entries(r.outputs))
      outputs[name] =
        w.type === 'int64'
          ? [...new BigInt64Array(w.buffer)].map(Number)
          : [...(w.type === 'int32' ? new Int32Array(w.buffer) : new Float32Array(w.buffer))];
    return { ok: true, error: null, ms: r.ms, outputs };
  } catch (err) {
    return { ok: false, error: message(err), ms: performance.now() - t, outputs: {} };
  } finally {
    client.dispose();
  }
}

/**
 * How many of the dtype's graph files the model store holds with their verified mark (OPFS
 * models/<key>/<sha256>.verified, workers/modelStore.ts): a marked file is handed to the runtime
 * without being hashed again, so a reload with every file marked reads nothing back for hashing.
 */
async function storeMarks(o: {
  baseUrl: string;
  dtype: string;
}): Promise<{ files: number; stored: number; marked: number }> {
  const manifest = validateManifest(await (await fetch(`${o.baseUrl}manifest.json`)).json());
  const graphs: Partial<Record<GraphName, GraphFiles>> = manifest.dtypes[o.dtype as Dtype]?.graphs ?? {};
  const paths = new Set(Object.values(graphs).flatMap((g) => [g.file, ...(g.external_data ?? [])]));
  const hashes = manifest.files.filter((f) => paths.has(f.path)).map((f) => f.sha256);
  const names = new Set<string>();
  const models = await (
    await navigator.storage.getDirectory()
  ).getDirectoryHandle('models', { create: true });
  for await (const dir of (models as unknown as { values(): AsyncIterable<FileSystemHandle> }).values()) {
    if (dir.kind !== 'directory') continue;
    for await (const f of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.add(f);
  }
  return {
    files: hashes.length,
    stored: hashes.filter((h) => names.has(h)).length,
    marked: hashes.filter((h) => names.has(`${h}.verified`)).length,
  };
}

declare global {
  interface Window {
    __fullsize?: {
      load: typeof load;
      graphs: typeof graphs;
      step: typeof step;
      storeMarks: typeof storeMarks;
    };
  }
}
window.__fullsize = { load, graphs, step, storeMarks };
