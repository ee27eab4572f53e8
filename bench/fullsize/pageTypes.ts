/** What `window.__fullsize` takes and returns (shared by bench/fullsize/page.ts and its driver). */
import type { MemoryPolicy } from '../../src/engine/index';
import type { RuntimeOptions } from '../../src/engine/internal';
import type { Backend, Dtype } from '../../src/protocol/messages';

/** The onnxruntime-web build to load with: the JSPI one (where the browser has JSPI) or the JSEP one. */
export type BuildChoice = NonNullable<RuntimeOptions['webgpuBuild']>;

export interface LoadOptions {
  baseUrl: string;
  backend: Backend;
  dtype: Dtype;
  build: BuildChoice;
  /** A memory policy to force (the worker's "memory=" flag); the package's own when absent. */
  memory?: MemoryPolicy;
  /** Empty the model store first (a first visit). */
  clearCache: boolean;
  /**
   * Measure the JS heap after the load (default true). `measureUserAgentSpecificMemory` never
   * settles while a WASM thread-pool worker waits in `Atomics.wait`, so WASM loads that must end
   * (bench/fullsize/stress.ts) leave it out.
   */
  jsHeap?: boolean;
}

export interface LoadResult {
  ok: boolean;
  error: string | null;
  /** Page wall ms of loadModel (download, verify, sessions). */
  ms: number;
  /** The worker's session-creation ms. */
  sessionsMs: number | null;
  backend: Backend | null;
  /** The onnxruntime-web build the worker ran. */
  build: BuildChoice | null;
  /** The engine's memory policy for the package. */
  memory: MemoryPolicy | null;
  /** The loading worker's WASM heap after the load (`memory` request). */
  wasmHeapBytes: number | null;
  /** `performance.measureUserAgentSpecificMemory()` of the page and its workers, after the load. */
  jsHeapBytes: number | null;
  jsHeapNote: string | null;
}

export interface GraphCheck {
  created: boolean;
  /** "OpType (node name)" on the CPU provider; null on WASM, where every node is a CPU node. */
  cpuNodes: string[] | null;
  error: string | null;
  ms: number;
}

export interface StepResult {
  ok: boolean;
  error: string | null;
  ms: number;
  outputs: Record<string, number[]>;
}
