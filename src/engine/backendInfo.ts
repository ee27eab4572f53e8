/**
 * The backend a web host runs on and what was learnt choosing it: one type for the runtime
 * (src/engine/runtime/web), the worker and the page (src/protocol), which sends it as it is.
 */
import type { GpuBufferLimits } from './package';

/**
 * The onnxruntime-web build: 'jspi' (external data streamed from Files) or 'jsep' (see
 * src/engine/runtime/web/ort.ts).
 */
export type RuntimeBuild = 'jspi' | 'jsep';

export type Backend = 'webgpu' | 'wasm';
export type BackendChoice = 'auto' | Backend;

/** The backend in use and what was learnt choosing it. */
export interface BackendInfo {
  backend: Backend;
  /** The onnxruntime-web build in use (see RuntimeBuild). */
  build?: RuntimeBuild;
  /** WebGPU adapter description (vendor / architecture), when on WebGPU. */
  adapter?: string;
  shaderF16?: boolean;
  /** The WebGPU adapter's buffer limits, in bytes. */
  limits?: GpuBufferLimits;
  /** WASM threads in use (1 when not cross-origin isolated). */
  threads: number;
  /** Why the preferred backend is not the one in use, when it isn't. */
  fallbackReason?: string;
}
