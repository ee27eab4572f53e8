/**
 * Typed messages between the UI (main thread) and the engine worker.
 * Every request carries an `id`; every reply names the request it answers.
 * Large arrays travel as transferred ArrayBuffers, never copied.
 */
export const PROTOCOL_VERSION = 1;

export type BackendChoice = 'auto' | 'webgpu' | 'wasm';
export type Backend = 'webgpu' | 'wasm';
export type Dtype = 'fp32' | 'fp16' | 'q4' | 'q4f16' | 'q8';

/** A tensor on the wire: the buffer is transferred. */
export interface WireTensor {
  type: 'float32' | 'int32' | 'int64';
  dims: number[];
  buffer: ArrayBuffer;
}

export interface BackendInfo {
  backend: Backend;
  /** WebGPU adapter description (vendor / architecture), when on WebGPU. */
  adapter?: string;
  shaderF16?: boolean;
  /** WASM threads in use (1 when not cross-origin isolated). */
  threads: number;
  /** Why the preferred backend is not the one in use, when it isn't. */
  fallbackReason?: string;
}

export type WorkerRequest =
  | { type: 'hello'; id: number; version: number }
  | { type: 'init'; id: number; backend: BackendChoice }
  | { type: 'runGraph'; id: number; model: ArrayBuffer; feeds: Record<string, WireTensor>; backend: Backend }
  | { type: 'cancel'; id: number; target: number };

export type WorkerReply =
  | { type: 'hello'; id: number; version: number }
  | { type: 'backend'; id: number; info: BackendInfo }
  | { type: 'graphResult'; id: number; outputs: Record<string, WireTensor>; backend: Backend; ms: number }
  | { type: 'error'; id: number; code: ErrorCode; message: string };

export type ErrorCode =
  | 'bad-request'
  | 'version-mismatch'
  | 'backend-unavailable'
  | 'graph-failed'
  | 'cancelled'
  | 'internal';

/** Exhaustiveness helper for `switch` statements over message unions. */
export function assertNever(value: never): never {
  throw new Error(`unhandled message: ${JSON.stringify(value)}`);
}
