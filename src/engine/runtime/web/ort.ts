/**
 * onnxruntime-web for a page or a worker: picks the runtime's build and the backend, owns the
 * runtime's settings and runs sessions one at a time (WebGPU/WASM sessions must not run
 * concurrently). The only onnxruntime-web import.
 */
import type * as Ort from 'onnxruntime-web/webgpu';
import { bufferLimits, gpuAdapter, gpuDevice } from './gpuDevice';
import type { RuntimeOptions } from '../../runtimeOptions';
import { rangeReadBlob, stalledBlob } from './rangeReads';

/**
 * Which onnxruntime-web build runs. On WebGPU, the JSPI build where the browser has JSPI
 * (WebAssembly.Suspending and promising): it streams each external-data File into the GPU tensor
 * by tensor (through `rangeReadBlob`), so no graph's weights pass through JS memory whole; it
 * measured 1.1 GiB less peak memory than the JSEP build for the full-depth package
 * (docs/fullsize.md). It runs with one WASM thread (with its thread pool, session creation hung
 * now and then). Read through the browser's own Blob streams, its session creation stalled in 3 of
 * 15 loads of the depth-reduced package; through our range reads, in none of 20. The JSEP build is
 * the fallback (each external-data File read whole, once, through the same 8 MiB reads, while its
 * graph's session is made, one graph at a time) and what WASM runs, with its thread pool; a worker
 * given the runtime option `webgpuBuild: 'jsep'` runs WebGPU on it too.
 */
import type { RuntimeBuild } from '../../backendInfo';

export type { RuntimeBuild };

function hasJspi(): boolean {
  const wasm = WebAssembly as unknown as { Suspending?: unknown; promising?: unknown };
  return typeof wasm.Suspending === 'function' && typeof wasm.promising === 'function';
}

/** The options this worker's runtime runs under (`setRuntimeOptions`; defaults until then). */
let options: RuntimeOptions = {};

/**
 * Sets the options the runtime runs under (src/engine/runtimeOptions.ts, checked by the caller);
 * only takes effect before the runtime first starts.
 */
export function setRuntimeOptions(o: RuntimeOptions): void {
  options = o;
}

function jspiWanted(): boolean {
  return hasJspi() && options.webgpuBuild !== 'jsep';
}

/**
 * WASM on the JSPI build, with the thread pool, instead of the JSEP build: the runtime option
 * `wasmBuild: 'jspi'` (a measurement option, bench/fullsize: the JSPI build streams weights from
 * the stored Files into the heap rather than reading each graph's files whole).
 */
function wasmOnJspi(): boolean {
  return hasJspi() && options.wasmBuild === 'jspi';
}

type OrtModule = typeof import('onnxruntime-web/webgpu');
/** Each build's module, imported when a backend first needs it. */
const modules = new Map<RuntimeBuild, Promise<OrtModule>>();
let loaded: OrtModule | null = null;
let build: RuntimeBuild | null = null;
let wasmThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

/** The build of the backend this worker used last (null before the runtime is first used). */
export function runtimeBuild(): RuntimeBuild | null {
  return build;
}

/**
 * Loads and configures the runtime's build for `backend` (once per build and worker) and makes it
 * the one in use: WebGPU on the JSPI build where it is wanted, WASM always on the JSEP build with
 * its thread pool (so a worker that first chose WebGPU and then WASM runs WASM multi-threaded).
 * Imported on first use, not at module load: a worker's module must not wait at its top level,
 * or messages posted to it meanwhile are lost.
 */
export async function loadRuntime(backend: Backend): Promise<OrtModule> {
  const chosen: RuntimeBuild = (backend === 'webgpu' ? jspiWanted() : wasmOnJspi()) ? 'jspi' : 'jsep';
  let pending = modules.get(chosen);
  if (!pending) {
    pending = (async () => {
      const m =
        chosen === 'jspi' ? await import('onnxruntime-web/jspi') : await import('onnxruntime-web/webgpu');
      // The runtime's .wasm files are emitted by the bundler beside this module and fetched from
      // our own origin: never from a CDN.
      m.env.wasm.numThreads = chosen === 'jspi' && !wasmOnJspi() ? 1 : wasmThreads;
      // A worker with the `diagnostics` option logs verbosely from the start (the runtime fixes
      // its log level when it first initialises); the worker keeps what it prints (placement checks).
      m.env.logLevel = options.diagnostics ? 'verbose' : 'warning';
      return m;
    })();
    pending.catch(() => modules.delete(chosen));
    modules.set(chosen, pending);
  }
  const m = await pending;
  loaded = m;
  build = chosen;
  return m;
}

/**
 * The onnxruntime-web module in use (both builds have the same API). Usable once `loadRuntime`
 * has resolved: every path to a session goes through it (pickBackend, createSession, the runner).
 */
export const ort: OrtModule = new Proxy({} as OrtModule, {
  get(_target, key) {
    if (!loaded) throw new Error('onnxruntime-web is used before loadRuntime() finished');
    return Reflect.get(loaded, key) as unknown;
  },
});
import type { Backend, BackendChoice, BackendInfo } from '../../backendInfo';

export type { Backend, BackendChoice, BackendInfo };

/** A tensor whose values are in one ArrayBuffer (what a worker message transfers). */
export interface BufferTensor {
  type: 'float32' | 'int32' | 'int64';
  dims: number[];
  buffer: ArrayBuffer;
}

/** Sets the WASM thread count of the JSEP build; only takes effect before the runtime first starts. */
export function setWasmThreads(n: number): void {
  wasmThreads = Math.max(1, Math.floor(n));
}

/** The thread count and build of the runtime, loaded for `backend`. */
async function runtimeFor(backend: Backend): Promise<{ threads: number; build: RuntimeBuild }> {
  const m = await loadRuntime(backend);
  return { threads: m.env.wasm.numThreads ?? 1, build: build! };
}

export async function pickBackend(choice: BackendChoice): Promise<BackendInfo> {
  if (choice === 'wasm') return { backend: 'wasm', ...(await runtimeFor('wasm')) };
  const gpu = self.navigator.gpu as GPU | undefined;
  let reason = 'this browser has no WebGPU';
  if (gpu) {
    try {
      // The same adapter the sessions' device comes from (see gpuDevice.ts).
      const adapter = await gpuAdapter();
      if (adapter) {
        const info = adapter.info;
        const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
        return {
          backend: 'webgpu',
          ...(await runtimeFor('webgpu')),
          adapter: name || 'unknown adapter',
          shaderF16: adapter.features.has('shader-f16'),
          limits: bufferLimits(adapter),
        };
      }
      reason = 'no WebGPU adapter is available';
    } catch (err) {
      reason = `WebGPU adapter request failed: ${(err as Error).message}`;
    }
  }
  if (choice === 'webgpu') throw new Error(`WebGPU was requested but ${reason}`);
  return { backend: 'wasm', ...(await runtimeFor('wasm')), fallbackReason: reason };
}

const watched = new WeakSet<object>();
/**
 * Calls `onLost` once when the WebGPU device the runtime uses is lost (driver reset, GPU removed
 * or destroyed). Call only after a WebGPU session exists: before that, reading the device makes one.
 */
export async function watchDeviceLoss(onLost: (message: string) => void): Promise<void> {
  const device = await gpuDevice();
  if (watched.has(device)) return;
  watched.add(device);
  void device.lost.then((info) => {
    // The runtime destroys its own device when it is done with it (e.g. the last WebGPU session
    // released on a switch to WASM): not a loss, unless loseDevice() simulated one.
    if (info.reason === 'destroyed' && !simulatedLoss) return;
    onLost(info.message || `the device was ${info.reason ?? 'lost'}`);
  });
}

let simulatedLoss = false;
/** Destroys the runtime's WebGPU device: the same loss a driver reset causes (tests, diagnostics). */
export async function loseDevice(): Promise<void> {
  simulatedLoss = true;
  (await gpuDevice()).destroy();
}

let queue: Promise<unknown> = Promise.resolve();
/** Serialises every session call. */
export function serial<T>(job: () => Promise<T>): Promise<T> {
  const next = queue.then(job, job);
  queue = next.catch(() => undefined);
  return next;
}

/** Work the runtime may never finish (a hung WASM call cannot be interrupted): what the watchdog watches. */
export interface WatchedWork {
  graph: string;
  /** Creating the graph's session, or one run of it. */
  phase: 'session' | 'run';
  /** The graph's bytes (graph file and external data). */
  bytes: number;
  backend: Backend;
  /** A bound set by a test fault (`armStall`), instead of the one the graph's size gives. */
  boundMs?: number;
}

/** Runs `job`, which calls `progress` whenever it moves on (a range of weights read). */
export type Watcher = <T>(work: WatchedWork, job: (progress: () => void) => Promise<T>) => Promise<T>;

let watcher: Watcher = (_work, job) => job(() => undefined);

/** Installs the watchdog (workers/watchdog.ts) that every session creation and run goes through. */
export function setWatcher(w: Watcher): void {
  watcher = w;
}

/** `job` under the watchdog. */
export function underWatchdog<T>(work: WatchedWork, job: (progress: () => void) => Promise<T>): Promise<T> {
  return watcher(work, job);
}

/** A test fault: the next session creation or run of `graph` in this worker stalls. */
export interface StallFault {
  graph: string;
  phase: 'session' | 'run';
  /** The watchdog's bound for that work (a test need not wait the real one). */
  boundMs?: number;
}

const faults: StallFault[] = [];

/** Arms a stall (diagnostics): a session's external data that never arrives, or a run that blocks the worker. */
export function armStall(fault: StallFault): void {
  faults.push(fault);
}

/** The fault armed for this graph and phase, used up. */
export function takeStall(graph: string, phase: StallFault['phase']): StallFault | null {
  const i = faults.findIndex((f) => f.graph === graph && f.phase === phase);
  return i < 0 ? null : faults.splice(i, 1)[0]!;
}

/**
 * Blocks this thread for good, as a WASM call that waits on a thread that never answers does:
 * no timer, message or promise runs in this worker again (the test fault of a stalled run).
 */
export function blockThread(): never {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0);
}

/** How a session's external data is read: progress heard per range, or (a test fault) never delivered. */
export interface ExternalReads {
  onRange?: () => void;
  stall?: boolean;
}

/**
 * A session of `model` on `backend`'s runtime, with this worker's execution provider and every
 * graph optimisation; the one way sessions are made. Call it inside `serial`.
 */
export async function newSession(
  backend: Backend,
  model: Uint8Array,
  options: Omit<Ort.InferenceSession.SessionOptions, 'executionProviders'> = {},
  reads: ExternalReads = {},
): Promise<Ort.InferenceSession> {
  const m = await loadRuntime(backend);
  return m.InferenceSession.create(model, {
    executionProviders: [await executionProvider(backend)],
    graphOptimizationLevel: 'all',
    ...options,
    // a File is read through the worker's own 8 MiB reads, by range (JSPI) or whole (JSEP)
    externalData: options.externalData?.map((e) => {
      if (typeof e === 'string') return e;
      if (reads.stall) {
        const blob = e.data instanceof Blob ? e.data : new Blob([e.data as Uint8Array<ArrayBuffer>]);
        return { path: e.path, data: stalledBlob(blob) };
      }
      return e.data instanceof Blob ? { path: e.path, data: rangeReadBlob(e.data, reads.onRange) } : e;
    }),
  });
}

/** The runtime's execution provider for a backend: on WebGPU, with this worker's own device. */
export async function executionProvider(
  backend: Backend,
): Promise<Ort.InferenceSession.ExecutionProviderConfig> {
  return backend === 'webgpu' ? { name: 'webgpu', device: await gpuDevice() } : backend;
}

export function createSession(
  model: ArrayBuffer | Uint8Array,
  backend: Backend,
  externalData: { path: string; data: ArrayBuffer }[] = [],
): Promise<Ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : new Uint8Array(model);
  return serial(() =>
    newSession(backend, bytes, {
      externalData: externalData.map((e) => ({ path: e.path, data: new Uint8Array(e.data) })),
    }),
  );
}

export function toOrt(t: BufferTensor): Ort.Tensor {
  switch (t.type) {
    case 'float32':
      return new ort.Tensor('float32', new Float32Array(t.buffer), t.dims);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(t.buffer), t.dims);
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(t.buffer), t.dims);
  }
}

export async function fromOrt(t: Ort.Tensor): Promise<BufferTensor> {
  const data = (await t.getData()) as Float32Array | Int32Array | BigInt64Array;
  const copy = data.slice();
  const type = t.type === 'float32' || t.type === 'int32' || t.type === 'int64' ? t.type : null;
  if (!type) throw new Error(`unsupported output type ${t.type}`);
  return { type, dims: [...t.dims], buffer: copy.buffer as ArrayBuffer };
}

export async function runOnce(
  session: Ort.InferenceSession,
  feeds: Record<string, BufferTensor>,
): Promise<Record<string, BufferTensor>> {
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
  const out = await serial(() => session.run(inputs));
  const result: Record<string, BufferTensor> = {};
  for (const [name, tensor] of Object.entries(out)) {
    result[name] = await fromOrt(tensor);
    tensor.dispose();
  }
  return result;
}

/**
 * Creates (then releases) a session and returns the runtime's log lines for it and the nodes it
 * placed on the CPU provider. `runtimeLog`: what the runtime printed so far, kept by the caller
 * (the runtime must run with the `diagnostics` option, so that it logs verbosely).
 */
export async function nodePlacement(
  runtimeLog: readonly string[],
  model: ArrayBuffer,
  backend: Backend,
  externalData: { path: string; data: ArrayBuffer }[] = [],
): Promise<{ cpuNodes: string[]; log: string[] }> {
  if (!options.diagnostics) throw new Error('placement checks run with the runtime option "diagnostics"');
  return serial(async () => {
    const from = runtimeLog.length;
    const session = await newSession(backend, new Uint8Array(model), {
      logSeverityLevel: 0,
      logVerbosityLevel: 0,
      externalData: externalData.map((e) => ({ path: e.path, data: new Uint8Array(e.data) })),
    });
    await session.release();
    const log = runtimeLog.slice(from);
    return { cpuNodes: cpuNodesFromLog(log), log };
  });
}

/** Parses the runtime's "Node(s) placed on [CPUExecutionProvider]" block. */
export function cpuNodesFromLog(log: readonly string[]): string[] {
  const lines = log.flatMap((l) => l.split('\n'));
  const nodes: string[] = [];
  let inCpuBlock = false;
  for (const line of lines) {
    if (/placed on \[CPUExecutionProvider\]/.test(line)) {
      inCpuBlock = true;
      continue;
    }
    if (/placed on \[|All nodes placed on/.test(line)) {
      inCpuBlock = false;
      continue;
    }
    const m = inCpuBlock ? /^\s*(?:\S*\s)?\s*(\w+) \((.*)\)\s*$/.exec(line.replace(/^.*\]\s/, ' ')) : null;
    if (m) nodes.push(`${m[1]} (${m[2]})`);
  }
  return nodes;
}
