/**
 * Options a web worker's runtime runs under, instead of the defaults: which onnxruntime-web build
 * runs a backend, the step graph's WebGPU session options, a memory policy, and diagnostics
 * logging. Benchmarks, tests and diagnostics set them; the app runs on the defaults. They travel in
 * the worker's first request (src/protocol/messages.ts `hello`), are checked once there by
 * `runtimeOptions`, and are handed to what reads them.
 */
import { MEMORY_POLICIES } from './pipeline';
import type { MemoryPolicy } from './pipeline';

export interface RuntimeOptions {
  /** The build WebGPU runs on: 'jspi' (the default where the browser has JSPI) or 'jsep'. */
  readonly webgpuBuild?: 'jspi' | 'jsep';
  /** The build WASM runs on: 'jsep' (the default) or 'jspi', with its thread pool (a measurement option). */
  readonly wasmBuild?: 'jspi' | 'jsep';
  /** The step graph records its GPU commands once and replays them (WebGPU). */
  readonly graphCapture?: boolean;
  /** The step graph's free `batch` dimension is fixed to 1 (WebGPU). */
  readonly freeDimensionOverrides?: boolean;
  /** The memory policy, instead of the one the package's size gives. */
  readonly memory?: MemoryPolicy;
  /** The runtime logs verbosely from its start and its log is kept (placement checks). */
  readonly diagnostics?: boolean;
}

const BUILDS = ['jspi', 'jsep'] as const;

/** Each option's allowed values (a list), or 'boolean'. */
const RULES: Record<keyof RuntimeOptions, readonly string[] | 'boolean'> = {
  webgpuBuild: BUILDS,
  wasmBuild: BUILDS,
  graphCapture: 'boolean',
  freeDimensionOverrides: 'boolean',
  memory: MEMORY_POLICIES,
  diagnostics: 'boolean',
};

/**
 * `value` as runtime options; anything else is refused with a message naming the option: a
 * field that is not an option, or a value of the wrong type.
 */
export function runtimeOptions(value: unknown): RuntimeOptions {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(`runtime options must be an object, not ${JSON.stringify(value) ?? typeof value}`);
  for (const [key, v] of Object.entries(value)) {
    if (!Object.hasOwn(RULES, key))
      throw new TypeError(`unknown runtime option "${key}" (known: ${Object.keys(RULES).join(', ')})`);
    if (v === undefined) continue;
    const rule = RULES[key as keyof RuntimeOptions];
    if (rule === 'boolean' ? typeof v !== 'boolean' : typeof v !== 'string' || !rule.includes(v))
      throw new TypeError(
        `runtime option "${key}" is ${JSON.stringify(v)}; it must be ${rule === 'boolean' ? 'true or false' : rule.map((r) => `"${r}"`).join(' or ')}`,
      );
  }
  return value as RuntimeOptions;
}

/** The option that runs `backend` on `build`. */
export function buildOption(backend: 'webgpu' | 'wasm', build: 'jspi' | 'jsep'): RuntimeOptions {
  return backend === 'webgpu' ? { webgpuBuild: build } : { wasmBuild: build };
}
