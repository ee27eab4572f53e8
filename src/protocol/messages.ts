/**
 * Typed messages between the UI (main thread) and the engine worker.
 * Every request carries an `id`; every reply names the request it answers.
 * Large arrays travel as transferred ArrayBuffers, never copied.
 */
import type {
  Backend,
  BackendChoice,
  BackendInfo,
  Dtype,
  EditOptionValues,
  MemoryPolicy,
} from '../engine/index';
import type { ModelDomain, RuntimeOptions } from '../engine/internal';

export type { Dtype };

export const PROTOCOL_VERSION = 1;

export type { Backend, BackendChoice };

/** A tensor on the wire: the buffer is transferred. */
export interface WireTensor {
  type: 'float32' | 'int32' | 'int64';
  dims: number[];
  buffer: ArrayBuffer;
}

export type { BackendInfo };

/** RGBA8 pixels, row-major; `buffer` holds width·height·4 bytes and is transferred. */
export interface ImagePayload {
  width: number;
  height: number;
  buffer: ArrayBuffer;
}

/** Every edit setting, as the engine's settings table describes them (src/engine/editSettings.ts). */
export type EditSettings = EditOptionValues;

/** What the UI needs to know about the loaded model. */
export interface ModelInfo {
  name: string;
  baseUrl: string;
  dtype: Dtype;
  backend: BackendInfo;
  /** Model resolution in pixels (square). */
  resolution: number;
  /** Token grid [rows, cols] at that resolution. */
  tokenGrid: [number, number];
  maxInstructionTokens: number;
  defaults: EditSettings;
  suggestions: string[];
  /** What the model was trained on, with example images; absent when the package does not say. */
  domain?: ModelDomain | null;
  /** Bytes of this package held in the browser cache. */
  cachedBytes: number;
  /** Which graphs' sessions stay open (the engine's memory policy for this package's size). */
  memory: MemoryPolicy;
}

/**
 * One sampling step, all on the token grid (rows·cols cells, row-major).
 * `drawn` and `remasked` are Int32 cell indices; `tokens` the grid after the step (mask id where
 * unknown); `attention` the smoothed consolidated map, Float32 in [0, 1]; `hold` Uint8 (1 = held
 * to the source token by region-hold); `preview` RGBA8 of the grid painted with codebook colours.
 */
export interface StepPayload {
  step: number;
  steps: number;
  grid: [number, number];
  maskTokenId: number;
  tokens: ArrayBuffer;
  drawn: ArrayBuffer;
  remasked: ArrayBuffer;
  attention: ArrayBuffer;
  hold: ArrayBuffer;
  preview: ArrayBuffer;
  elapsedMs: number;
}

/** An edit's result as the worker sends it (the engine's EditResult, its images as transferable payloads). */
export interface WireEditResult {
  /** At the input's original size. */
  image: ImagePayload;
  /** At model resolution, straight from the VQ decoder. */
  modelImage: ImagePayload;
  ms: number;
  warnings: string[];
}

/**
 * A checkpoint to convert in the tab, by where its files come from: `files`, a folder chosen or
 * dropped on the page (its Files by their path inside it); `hub`, a Hugging Face Hub repository
 * at one commit, read by range (`hubAuth`: a gated repository's token, for this conversion only).
 */
export type CheckpointDescriptor =
  | {
      kind: 'files';
      name: string;
      files: { path: string; file: File }[];
    }
  | {
      kind: 'hub';
      /** the package's name (the repository's) */
      name: string;
      /** `owner/name` */
      repo: string;
      commit: string;
      /** the hub's address (https://huggingface.co) */
      endpoint: string;
      hubAuth?: HubAuth;
    };

/** What a checkpoint folder holds, and what converting it makes (the offer before a conversion). */
export interface CheckpointFound {
  /** The folder's name; the package is named after it. */
  name: string;
  /** The model, in words (its transformer's layers and widths, the templates used). */
  model: string;
  /** The checkpoint's bytes (every file of the folder). */
  checkpointBytes: number;
  /** The dtypes this browser runs, each with the package's size in it. */
  dtypes: { dtype: Dtype; bytes: number }[];
  /** The dtype the app would load on the backend in use. */
  dtype: Dtype;
  /** Free storage the browser reports for the app (null when it does not say). */
  freeBytes: number | null;
}

/** A conversion under way: bytes written of the package, tensors done, and the phase. */
export interface ConvertProgress {
  phase: 'reading' | 'converting' | 'colours' | 'checking' | 'storing';
  /** `<dtype>/<graph>` being written, while converting. */
  graph: string | null;
  bytesWritten: number;
  totalBytes: number;
  tensorsDone: number;
  tensorsTotal: number;
  elapsedMs: number;
  /**
   * While the codebook colours are computed (phase `colours`): the token grids decoded of all,
   * and the milliseconds since that phase began (its own ETA comes from these).
   */
  colours: { gridsDone: number; gridsTotal: number; elapsedMs: number } | null;
}

/**
 * A conversion a closed or reloaded tab left unfinished: its finished graphs' files are kept until
 * it is discarded, and the next conversion of the same folder (same files, dtype and templates)
 * goes on from them.
 */
export interface InterruptedConversion {
  job: string;
  name: string;
  dtype: Dtype;
  startedAt: number;
  /** graphs written whole before it stopped (a conversion of the same folder goes on from there) */
  graphsDone: number;
  graphsTotal: number;
  /** what to open again to go on: the folder's name, or `hf:owner/repo@commit` */
  from: string;
}

/**
 * A token for a gated Hugging Face Hub repository: sent as `Authorization: Bearer` in requests to
 * `origin` (the hub's own) only, for one download; never stored, logged or put in a URL.
 */
export interface HubAuth {
  origin: string;
  token: string;
}

/** What the product (the app) asks the worker: the editor's whole job. */
export type ProductRequest =
  /**
   * The first request to a worker. `options`: what its runtime runs under instead of the defaults
   * (src/engine/runtimeOptions.ts; benchmarks and tests set them, the app does not); the worker
   * refuses options it does not know, or of the wrong type, with `bad-request`.
   */
  | { type: 'hello'; id: number; version: number; options?: RuntimeOptions }
  /** `wasmThreads` applies only before the first model or graph is loaded in this worker. */
  | { type: 'init'; id: number; backend: BackendChoice; wasmThreads?: number }
  /**
   * Loads a package; the model loaded before stays in use until this one is ready, and again if
   * this one fails or is cancelled. `stallMs`: a download silent this long fails (default 30 s).
   */
  | {
      type: 'loadModel';
      id: number;
      baseUrl: string;
      dtype: Dtype | 'auto';
      stallMs?: number;
      /** a gated hub repository's token, for this download only */
      hubAuth?: HubAuth;
    }
  /** `mask` (inpainting mode): RGBA8 at the image's size; white (grey ≥ 0.5 on the token grid) marks cells to regenerate. */
  | {
      type: 'edit';
      id: number;
      image: ImagePayload;
      instruction: string;
      settings: EditSettings;
      mask?: ImagePayload;
    }
  /** Attention of one past step of the last edit, restricted to the characters [start, end) of its instruction (a word's span). */
  | { type: 'wordMap'; id: number; step: number; start: number; end: number }
  | { type: 'cacheInfo'; id: number }
  /**
   * Copies a package folder from disk into the model store (each listed file checked against the
   * manifest as it streams) and answers `folderImported` with its key; the model in use stays.
   * `files`: the folder's files by their path inside it.
   */
  | { type: 'importFolder'; id: number; name: string; files: { path: string; file: File }[] }
  | { type: 'clearCache'; id: number }
  /** Reads a checkpoint's configs and headers and answers `checkpointFound` (nothing is written). */
  | { type: 'inspectCheckpoint'; id: number; source: CheckpointDescriptor }
  /**
   * Converts a checkpoint into the model store (streaming `convertProgress`) and answers
   * `folderImported` with the new package's key; the model in use stays. Cancelled or failed,
   * nothing of it is kept.
   */
  | { type: 'convertCheckpoint'; id: number; source: CheckpointDescriptor; dtype: Dtype }
  /** Conversions a closed tab left unfinished (answers `interruptedConversions`). */
  | { type: 'interruptedConversions'; id: number }
  /** Removes what an unfinished conversion wrote. */
  | { type: 'discardConversion'; id: number; job: string }
  | { type: 'cancel'; id: number; target: number };

/**
 * Tests, benchmarks and diagnostics: never sent by the app itself (workers/diagnostics.ts
 * answers them). They share the worker so they measure and probe the very engine the app runs.
 */
export type DiagnosticsRequest =
  /** `externalData`: the graph's weight chunks by file name (as for `placement`). */
  | {
      type: 'runGraph';
      id: number;
      model: ArrayBuffer;
      feeds: Record<string, WireTensor>;
      backend: Backend;
      externalData?: { path: string; data: ArrayBuffer }[];
    }
  /** Creates a session with verbose logging and reports which nodes were placed on the CPU. `externalData`: the graph's weight chunks by file name. */
  | {
      type: 'placement';
      id: number;
      model: ArrayBuffer;
      externalData?: { path: string; data: ArrayBuffer }[];
      backend: Backend;
    }
  /** Per-graph run timings since the last reset (benchmarks and diagnostics). */
  | { type: 'stats'; id: number; reset: boolean }
  /** This worker's memory: the runtime's WASM heap (null before the runtime has started). */
  | { type: 'memory'; id: number }
  /** Destroys the WebGPU device in use, exactly as a driver reset loses it. */
  | { type: 'loseDevice'; id: number }
  /** Loads files through the model store (stored ones read back by slices) and reports what was read. */
  | { type: 'readPackageFiles'; id: number; baseUrl: string; files: StoredFile[] }
  /**
   * A fault for tests: the next session creation of `graph` in this worker never receives its
   * external data, or its next run blocks the worker. `boundMs` replaces the watchdog's bound for it.
   */
  | { type: 'stall'; id: number; graph: string; phase: 'session' | 'run'; boundMs?: number };

export type WorkerRequest = ProductRequest | DiagnosticsRequest;

const DIAGNOSTICS: { readonly [K in DiagnosticsRequest['type']]: true } = {
  runGraph: true,
  placement: true,
  stats: true,
  memory: true,
  loseDevice: true,
  readPackageFiles: true,
  stall: true,
};

export function isDiagnosticsRequest(req: WorkerRequest): req is DiagnosticsRequest {
  return Object.hasOwn(DIAGNOSTICS, req.type);
}

export type ProductReply =
  | { type: 'hello'; id: number; version: number }
  | { type: 'backend'; id: number; info: BackendInfo }
  /** Download progress: per file, and over the whole package. */
  | {
      type: 'progress';
      id: number;
      file: string;
      loaded: number;
      total: number;
      totalLoaded: number;
      totalBytes: number;
    }
  | { type: 'modelLoaded'; id: number; model: ModelInfo }
  | { type: 'warning'; id: number; message: string }
  | { type: 'step'; id: number; step: StepPayload }
  | { type: 'result'; id: number; result: WireEditResult }
  | { type: 'wordMap'; id: number; attention: ArrayBuffer; grid: [number, number] }
  /** `name`: a package opened from a folder, whose `baseUrl` is then its key (src/protocol/localPackage.ts). */
  | {
      type: 'cacheInfo';
      id: number;
      bytes: number;
      packages: { baseUrl: string; bytes: number; name?: string }[];
    }
  /** `bytes`: the package's stored bytes (its manifest's files, summed) */
  | { type: 'folderImported'; id: number; baseUrl: string; name: string; bytes: number }
  | { type: 'checkpointFound'; id: number; found: CheckpointFound }
  | { type: 'convertProgress'; id: number; progress: ConvertProgress }
  | { type: 'interruptedConversions'; id: number; conversions: InterruptedConversion[] }
  | { type: 'done'; id: number }
  /** `id` 0: not an answer to a request (the GPU device was lost while the engine was idle). */
  | { type: 'error'; id: number; code: ErrorCode; message: string }
  /**
   * `id` 0. The watchdog (workers/watchdog.ts): the runtime started (or moved on with) work it may
   * never finish; with no newer `watch` within `boundMs` the page stops this worker and answers
   * every request in flight with `stalled`. `null`: that work ended.
   */
  | { type: 'watch'; id: number; watch: { what: string; boundMs: number } | null };

export type DiagnosticsReply =
  | { type: 'graphResult'; id: number; outputs: Record<string, WireTensor>; backend: Backend; ms: number }
  | { type: 'stats'; id: number; graphs: Record<string, GraphStats>; loadMs: number }
  | { type: 'memory'; id: number; wasmHeapBytes: number | null }
  /** `cpuNodes`: "OpType (node name)" of every node the runtime put on the CPU provider. */
  | { type: 'placement'; id: number; cpuNodes: string[]; log: string[] }
  /** The size and sha256 of what the model store returned for each file. */
  | { type: 'packageFiles'; id: number; files: StoredFile[] };

export type WorkerReply = ProductReply | DiagnosticsReply;

/** Reply types that end a request; the others are streamed events. */
export const FINAL_REPLIES = [
  'hello',
  'backend',
  'modelLoaded',
  'result',
  'wordMap',
  'cacheInfo',
  'folderImported',
  'checkpointFound',
  'interruptedConversions',
  'done',
  'error',
  'graphResult',
  'stats',
  'memory',
  'placement',
  'packageFiles',
] as const;

/** A package file: its path under the package URL, size and sha256 (hex). */
export interface StoredFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** Time spent in one graph's runs, measured around session.run plus the read back. */
export interface GraphStats {
  runs: number;
  /** Milliseconds of each run, in order. */
  ms: number[];
  /** Bytes read back from the device by the last run. */
  readbackBytes: number;
}

export type ErrorCode =
  | 'bad-request'
  | 'version-mismatch'
  | 'backend-unavailable'
  | 'model-unavailable'
  | 'model-invalid'
  | 'bad-image'
  | 'graph-failed'
  | 'device-lost'
  | 'stalled'
  | 'cancelled'
  | 'internal';

/** Exhaustiveness helper for `switch` statements over message unions. */
export function assertNever(value: never): never {
  throw new Error(`unhandled message: ${JSON.stringify(value)}`);
}
