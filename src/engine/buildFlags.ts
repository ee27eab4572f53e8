/**
 * The worker-name options that pick onnxruntime-web's build instead of a backend's default
 * (read by src/engine/runtime/web/ort.ts; written by whoever names a worker: benchmarks, the test API).
 */
export const JSEP_ON_WEBGPU = 'jspi=0';
export const JSPI_ON_WASM = 'wasm=jspi';

/** The flag that runs `backend` on `build`, or '' where that build is the default. */
export function buildFlag(backend: 'webgpu' | 'wasm', build: 'jspi' | 'jsep'): string {
  if (backend === 'webgpu') return build === 'jsep' ? JSEP_ON_WEBGPU : '';
  return build === 'jspi' ? JSPI_ON_WASM : '';
}
