/** What `window.__bench.run` takes and returns (shared by the page and its driver, bench/browser/driver.ts). */
import type { BackendInfo, Dtype, GraphStats } from '../../src/protocol/messages';

/** WebGPU step-graph options for one worker (src/engine/runtime/web/ortWebRunner.ts `webGpuStepOptions`). */
export interface WebGpuStepOptions {
  graphCapture: boolean;
  freeDimensionOverrides: boolean;
}

export interface PageRunOptions {
  backend: 'webgpu' | 'wasm';
  /** WASM threads for this worker (sent with `init`). */
  threads: number;
  baseUrl: string;
  dtype: Dtype;
  /** Steps of the warm-up edit (compiles kernels; not measured). */
  warmSteps: number;
  steps: number;
  /** Different prompts so the measured edit encodes its text (the engine caches encodings). */
  warmPrompt: string;
  prompt: string;
  /**
   * WebGPU step-graph options for this worker (src/engine/runtime/web/ortWebRunner.ts `webGpuStepOptions`); left
   * out, the worker's defaults.
   */
  stepOptions?: WebGpuStepOptions;
}

export interface PageEditTimings {
  /** Wall ms on the page from sending `edit` to its result. */
  clientMs: number;
  /** The engine's own total (worker clock). */
  engineMs: number;
  /** Page ms from sending `edit` to the first streamed step. */
  firstStepMs: number;
  /** The worker's elapsedMs of each step event. */
  stepElapsedMs: number[];
  /** FNV-1a hash of the final token grid (the last step's tokens): equal runs edit alike. */
  tokensHash: string;
  /** Per-graph run timings of this edit alone (stats reset before it). */
  graphs: Record<string, GraphStats>;
}

export interface PageRunResult {
  backend: BackendInfo;
  model: { name: string; dtype: Dtype; resolution: number; grid: [number, number] };
  /** loadModel wall ms with an empty cache (download + verify + sessions). */
  loadColdMs: number;
  /** loadModel wall ms in a fresh worker with the files in OPFS. */
  loadCachedMs: number;
  /** Session-creation part of each load (the worker's loadMs). */
  sessionsColdMs: number;
  sessionsCachedMs: number;
  edit: PageEditTimings;
}
