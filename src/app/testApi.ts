/**
 * A small typed API on `window.__editmgt` for end-to-end tests and diagnostics, installed only
 * when asked for (src/app/testApiFlag.ts). It drives the same worker the UI uses (its
 * diagnostics requests included), and reads the editor's state as plain data.
 */
import type {
  Backend,
  BackendChoice,
  BackendInfo,
  Dtype,
  EditSettings,
  ImagePayload,
  StoredFile,
  WireTensor,
} from '../protocol/messages';
import { EngineClient } from '../protocol/engineClient';
import { buildOption } from '../engine/internal';

export interface AppSnapshot {
  editState: string;
  modelStatus: string;
  model: {
    name: string;
    dtype: string;
    backend: Backend;
    resolution: number;
    tokenGrid: [number, number];
  } | null;
  image: { width: number; height: number } | null;
  result: { width: number; height: number } | null;
  history: { length: number; cursor: number };
  /** `stepElapsedMs`: the worker's elapsed time at each step so far. */
  run: { status: string; frames: number; steps: number; stepElapsedMs: number[]; ms: number | null } | null;
  error: { source: string; code: string | null; message: string } | null;
}

/** An edit run in a worker of its own (not the editor's), with every step's tokens kept. */
export interface DirectEdit {
  baseUrl: string;
  backend: Backend;
  dtype: Dtype;
  image: ImagePayload;
  instruction: string;
  settings: EditSettings;
  /** 'jsep' runs WebGPU on onnxruntime-web's JSEP build instead of the default JSPI one; 'jspi' runs WASM on the JSPI build (with its thread pool) instead of the default JSEP one. */
  build?: 'jsep' | 'jspi';
  /** The engine's memory policy, instead of the one the package's size gives. */
  memory?: 'release-text' | 'phased';
}

export interface DirectEditResult {
  backend: BackendInfo;
  dtype: Dtype;
  /** Token grid after each step. */
  steps: number[][];
  /** Smoothed attention on the token grid after each step. */
  attention: number[][];
  image: { width: number; height: number; data: number[] };
  ms: number;
  /** The memory policy the engine ran under. */
  memory: 'all' | 'release-text' | 'phased';
}

/** What a model load in a worker of its own reported. */
export interface DirectLoad {
  backend: BackendInfo | null;
  model: {
    name: string;
    dtype: Dtype;
    backend: Backend;
    fallbackReason?: string;
    cachedBytes: number;
  } | null;
  error: { code: string; message: string } | null;
  warnings: string[];
  /** Every progress event, in order. */
  progress: { file: string; loaded: number; total: number; totalLoaded: number; totalBytes: number }[];
}

export interface TestApi {
  /**
   * Loads a model package in a fresh worker (not the editor's) and reports what happened. Several
   * backend choices are all sent at once, without waiting, as a person changing their mind does;
   * the last one asked for is the one that counts.
   */
  loadDirect(
    baseUrl: string,
    backend: BackendChoice | BackendChoice[],
    dtype: Dtype | 'auto',
    options?: { stallMs?: number },
  ): Promise<DirectLoad>;
  /** Destroys the editor worker's WebGPU device, as a driver reset would. */
  loseDevice(): Promise<void>;
  /**
   * Arms a stall in the editor's worker: the next session creation of `graph` never receives its
   * external data, or its next run blocks the worker; the watchdog's bound for it is `boundMs`.
   */
  armStall(graph: string, phase: 'session' | 'run', boundMs: number): Promise<void>;
  /**
   * The watchdog bounds the editor's worker announced since the last call, by what was watched
   * ("running vq_decode": milliseconds, each distinct one once); the record starts again.
   */
  takeWatchBounds(): Promise<Record<string, number[]>>;
  /** Runs one edit in a fresh worker and returns every step (parity checks against node). */
  editDirect(request: DirectEdit): Promise<DirectEditResult>;
  backend(choice: BackendChoice): Promise<BackendInfo>;
  runGraph(
    model: ArrayBuffer,
    feeds: Record<string, WireTensor>,
    backend: Backend,
  ): Promise<{ outputs: Record<string, WireTensor>; ms: number }>;
  /** Which nodes of a graph the runtime places on the CPU provider (see src/engine/runtime/web/ort.ts). */
  placement(
    model: ArrayBuffer,
    backend: Backend,
    externalData?: { path: string; data: ArrayBuffer }[],
  ): Promise<{ cpuNodes: string[]; log: string[] }>;
  /** Loads files through the worker's model store (see workers/modelStore.ts); what was read, per file. */
  readPackageFiles(baseUrl: string, files: StoredFile[]): Promise<StoredFile[]>;
  /** The editor's state now. */
  snapshot(): Promise<AppSnapshot>;
  /** The editor's whole store as text (src/app/testSnapshot.ts `stateTextOf`), to search it for a value. */
  stateText(): Promise<string>;
  /** Resolves once history and settings are written to IndexedDB. */
  flush(): Promise<void>;
}

export interface AppHooks {
  snapshot: () => AppSnapshot;
  stateText: () => string;
  flush: () => Promise<void>;
}

const idle: AppHooks = {
  snapshot: () => {
    throw new Error('the editor is not mounted');
  },
  stateText: () => {
    throw new Error('the editor is not mounted');
  },
  flush: async () => undefined,
};

export function createTestApi(client: EngineClient, editor: AppHooks = idle): TestApi {
  return {
    async backend(choice) {
      return client.init(choice);
    },
    async runGraph(model, feeds, backend) {
      const transfer = [model, ...Object.values(feeds).map((t) => t.buffer)];
      const r = await client.request({ type: 'runGraph', model, feeds, backend }, transfer);
      if (r.type === 'error') throw new Error(r.message);
      if (r.type !== 'graphResult') throw new Error(`unexpected reply ${r.type}`);
      return { outputs: r.outputs, ms: r.ms };
    },
    async loadDirect(baseUrl, backend, dtype, options = {}) {
      const worker = new EngineClient();
      const out: DirectLoad = { backend: null, model: null, error: null, warnings: [], progress: [] };
      try {
        const choices = await Promise.all(
          (Array.isArray(backend) ? backend : [backend]).map((b) => worker.init(b)),
        );
        out.backend = choices[choices.length - 1] ?? null;
        const r = await worker.request(
          { type: 'loadModel', baseUrl, dtype, stallMs: options.stallMs },
          [],
          (event) => {
            if (event.type === 'progress') {
              const { file, loaded, total, totalLoaded, totalBytes } = event;
              out.progress.push({ file, loaded, total, totalLoaded, totalBytes });
            } else if (event.type === 'warning') out.warnings.push(event.message);
          },
        );
        if (r.type === 'error') out.error = { code: r.code, message: r.message };
        else if (r.type === 'modelLoaded') {
          const m = r.model;
          out.model = {
            name: m.name,
            dtype: m.dtype,
            backend: m.backend.backend,
            fallbackReason: m.backend.fallbackReason,
            cachedBytes: m.cachedBytes,
          };
        }
        return out;
      } finally {
        worker.dispose();
      }
    },
    async loseDevice() {
      const r = await client.request({ type: 'loseDevice' });
      if (r.type === 'error') throw new Error(r.message);
    },
    async armStall(graph, phase, boundMs) {
      const r = await client.request({ type: 'stall', graph, phase, boundMs });
      if (r.type === 'error') throw new Error(r.message);
    },
    async takeWatchBounds() {
      return client.takeWatchBounds();
    },
    async readPackageFiles(baseUrl, files) {
      const r = await client.request({ type: 'readPackageFiles', baseUrl, files });
      if (r.type === 'error') throw new Error(r.message);
      if (r.type !== 'packageFiles') throw new Error(`unexpected reply ${r.type}`);
      return r.files;
    },
    async editDirect(req) {
      const worker = new EngineClient({
        ...(req.build ? buildOption(req.backend, req.build) : {}),
        ...(req.memory ? { memory: req.memory } : {}),
      });
      try {
        const info = await worker.init(req.backend);
        const loaded = await worker.request({ type: 'loadModel', baseUrl: req.baseUrl, dtype: req.dtype });
        if (loaded.type === 'error') throw new Error(loaded.message);
        if (loaded.type !== 'modelLoaded') throw new Error(`unexpected reply ${loaded.type}`);
        const steps: number[][] = [];
        const attention: number[][] = [];
        const r = await worker.request(
          { type: 'edit', image: req.image, instruction: req.instruction, settings: req.settings },
          [req.image.buffer],
          (event) => {
            if (event.type !== 'step') return;
            steps.push([...new Int32Array(event.step.tokens)]);
            attention.push([...new Float32Array(event.step.attention)]);
          },
        );
        if (r.type === 'error') throw new Error(r.message);
        if (r.type !== 'result') throw new Error(`unexpected reply ${r.type}`);
        const img = r.result.image;
        return {
          backend: info,
          dtype: loaded.model.dtype,
          steps,
          attention,
          image: { width: img.width, height: img.height, data: [...new Uint8Array(img.buffer)] },
          ms: r.result.ms,
          memory: loaded.model.memory,
        };
      } finally {
        worker.dispose();
      }
    },
    async placement(model, backend, externalData) {
      // A fresh worker that logs verbosely from the start, so nothing else shares its log.
      const diagnostics = new EngineClient({ diagnostics: true });
      try {
        const r = await diagnostics.request({ type: 'placement', model, externalData, backend }, [
          model,
          ...(externalData ?? []).map((e) => e.data),
        ]);
        if (r.type === 'error') throw new Error(r.message);
        if (r.type !== 'placement') throw new Error(`unexpected reply ${r.type}`);
        return { cpuNodes: r.cpuNodes, log: r.log };
      } finally {
        diagnostics.dispose();
      }
    },
    async snapshot() {
      return editor.snapshot();
    },
    async stateText() {
      return editor.stateText();
    },
    flush() {
      return editor.flush();
    },
  };
}

declare global {
  interface Window {
    __editmgt?: TestApi;
  }
}
