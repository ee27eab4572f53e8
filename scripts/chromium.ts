/**
 * The one place the project's Chromium is named: Debian's /usr/bin/chromium (or CHROMIUM_PATH),
 * driven by playwright-core for the end-to-end tests and the benchmarks, with the flags a
 * headless CI box needs; WebGPU runs there on SwiftShader.
 */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];

/**
 * Flags and environment that start Chromium's GPU process with its memory capped at `bytes`
 * (scripts/gpu-memory-limit.sh): for tests that run the GPU out of memory for real.
 */
export function gpuMemoryLimit(bytes: number): { args: string[]; env: Record<string, string> } {
  return {
    args: [`--gpu-launcher=${new URL('./gpu-memory-limit.sh', import.meta.url).pathname}`, '--no-zygote'],
    env: { GPU_DATA_LIMIT_KB: String(Math.floor(bytes / 1024)) },
  };
}
