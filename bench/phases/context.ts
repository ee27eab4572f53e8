/**
 * What the phases share while a report is made: the options, the plan, the measurements so far
 * (each phase adds its own), and the app build with its preview server, started by the first
 * browser case and stopped when the run ends.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../../src/engine/index';
import { readManifest } from '../../src/engine/runtime/node/index';
import { buildApp, serve } from '../browser/driver';
import type { Server } from '../browser/driver';
import type { BenchCase } from '../cases';
import type { PythonResult } from '../python/runPython';
import type { BackendName, BenchReport, Machine, RatioPairs } from '../report/types';

export const CACHE = 'node_modules/.cache/editmgt-bench';

export interface BenchOptions {
  quick: boolean;
  models: string[];
  backends: BackendName[];
  threads: number;
  steps: number;
  /** Steps on WebGPU (SwiftShader in a headless box is slow: a few steps tell the median). */
  webgpuSteps: number;
  warmSteps: number;
  reference: boolean;
  /** Alternating node-cpu / PyTorch edits for the node_vs_pytorch ratio (its median). */
  referenceRounds: number;
  /** FLOPs and the matmul peak (Python). */
  flops: boolean;
  /** Run each node case in its own process (peak memory per case). */
  isolate: boolean;
  port: number;
  /** Also run WebGPU fp32 with graph capture and free-dimension overrides each on and off. */
  webgpuSweep: boolean;
  /** Only these dtypes (default: all the backend runs; fp32 alone when quick). */
  dtypes?: string[];
  log: (line: string) => void;
}

export function modelDir(model: string): string {
  return join('public/models', model);
}

/** A model's manifest, validated, or null when the package is not here. */
export function manifestOf(model: string): Manifest | null {
  return existsSync(join(modelDir(model), 'manifest.json')) ? readManifest(modelDir(model)) : null;
}

/** The report's parts the phases fill in. */
export type Measured = Pick<
  BenchReport,
  'runs' | 'reference' | 'reference_fullsize' | 'engine_overhead' | 'composite_psnr' | 'shapes_eval'
> & {
  ratio_pairs: RatioPairs;
};

export interface BenchContext {
  readonly o: BenchOptions;
  readonly plan: readonly BenchCase[];
  readonly machine: Machine;
  readonly measured: Measured;
  /** FLOPs per graph file and the matmul peak, once python-measures has run */
  python: PythonResult;
  /** The built app served by `vite preview` (built on first use). */
  server(): Promise<Server>;
}

export function newContext(
  o: BenchOptions,
  plan: readonly BenchCase[],
  machine: Machine,
): BenchContext & { close(): void } {
  let server: Promise<Server> | null = null;
  return {
    o,
    plan,
    machine,
    python: {},
    measured: {
      runs: [],
      reference: null,
      reference_fullsize: null,
      engine_overhead: null,
      composite_psnr: [],
      shapes_eval: null,
      ratio_pairs: {
        node_vs_pytorch: [],
        wasm_threads_vs_node: null,
        webgpu_vs_wasm: null,
        node_vs_pytorch_fullsize_step: null,
      },
    },
    server() {
      server ??= (async () => {
        const dist = join(CACHE, 'dist');
        o.log('building the app with bench.html…');
        buildApp(dist);
        return serve(dist, o.port);
      })();
      return server;
    },
    close() {
      void server?.then(
        (s) => s.close(),
        () => undefined,
      );
    },
  };
}
