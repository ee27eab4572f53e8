/**
 * The case registry: every case `npm run bench` runs, declared in one table, in the order they
 * run. `planCases` expands each rule over the selected models, backends and dtypes, keeps what
 * the model packages here provide, and drops a case an earlier rule already planned. Each case's
 * kind names the one phase that runs it (bench/phases/).
 */
import type { WebGpuStepOptions } from './browser/pageTypes';
import type { BackendName } from './report/types';

export type CaseKind =
  | 'python-measures'
  | 'node-edit'
  | 'reference-rounds'
  | 'browser-edit'
  | 'fullsize-step'
  | 'engine-overhead'
  | 'composite-psnr'
  | 'shapes-eval';

/** Which model a rule runs on: every selected model, or one chosen from them. */
export type ModelChoice =
  /** every selected model with a package */
  | 'each'
  /** the model the ratios compare on: shapes when selected, else tiny-random */
  | 'compare'
  /** the model the PyTorch reference runs: shapes when its checkpoint is here (full runs), else tiny-random */
  | 'reference'
  /** the first selected model */
  | 'first'
  /** no package: the case finds its own graphs (the full-size step) */
  | 'none';

export interface CaseRule {
  kind: CaseKind;
  backend: BackendName | 'pytorch' | 'python';
  model: ModelChoice | { only: string };
  /** dtypes in quick and in full runs (`--dtypes` narrows both); those the package lacks are left out */
  dtypes: { quick: readonly string[]; full: readonly string[] };
  /** false: full runs only */
  quick: boolean;
  /** WebGPU step-graph option combinations, one case each (the sweep) */
  stepOptions?: readonly WebGpuStepOptions[];
  /** the ratio this case completes with the run made just before it */
  pair?: 'wasm_threads_vs_node' | 'webgpu_vs_wasm';
  /** the rule is dropped with this switch off */
  needs?: 'reference' | 'flops' | 'sweep';
  why: string;
}

const CPU_DTYPES = ['fp32', 'q8', 'q4'];
const GPU_DTYPES = ['fp32', 'fp16', 'q4', 'q4f16'];
const FP32 = { quick: ['fp32'], full: ['fp32'] } as const;
const SWEEP: readonly WebGpuStepOptions[] = [false, true].flatMap((graphCapture) =>
  [false, true].map((freeDimensionOverrides) => ({ graphCapture, freeDimensionOverrides })),
);

// One line per rule, so that the registry reads as the table it is.
// prettier-ignore
export const CASES: readonly CaseRule[] = [
  { kind: 'python-measures', backend: 'python', model: 'each', dtypes: FP32, quick: true, needs: 'flops', why: 'FLOPs of every planned step graph and the matmul peak, first: one Python start-up' },
  { kind: 'node-edit', backend: 'node-cpu', model: 'each', dtypes: { quick: ['fp32'], full: CPU_DTYPES }, quick: true, why: 'one edit on onnxruntime-node, each case in its own process' },
  { kind: 'reference-rounds', backend: 'pytorch', model: 'reference', dtypes: FP32, quick: true, needs: 'reference', why: 'node-cpu and PyTorch edits alternating: node_vs_pytorch' },
  { kind: 'browser-edit', backend: 'wasm-threads', model: 'compare', dtypes: FP32, quick: true, pair: 'wasm_threads_vs_node', why: 'WASM-threads fp32 right after a node-cpu fp32 edit: wasm_threads_vs_node' },
  { kind: 'browser-edit', backend: 'webgpu', model: 'compare', dtypes: FP32, quick: true, pair: 'webgpu_vs_wasm', why: 'WebGPU fp32 right after the WASM-threads one: webgpu_vs_wasm' },
  { kind: 'browser-edit', backend: 'wasm-1t', model: 'each', dtypes: { quick: ['fp32'], full: CPU_DTYPES }, quick: true, why: 'Chromium WASM, one thread' },
  { kind: 'browser-edit', backend: 'wasm-threads', model: 'each', dtypes: { quick: ['fp32'], full: CPU_DTYPES }, quick: true, why: 'Chromium WASM, threaded' },
  { kind: 'browser-edit', backend: 'webgpu', model: 'each', dtypes: { quick: ['fp32'], full: GPU_DTYPES }, quick: true, why: 'Chromium WebGPU' },
  { kind: 'browser-edit', backend: 'webgpu', model: 'each', dtypes: FP32, quick: false, stepOptions: SWEEP, needs: 'sweep', why: 'graph capture and free-dimension overrides, each on and off' },
  { kind: 'fullsize-step', backend: 'node-cpu', model: 'none', dtypes: FP32, quick: false, why: 'one full-size step on onnxruntime-node, then in PyTorch; last, so a package still being built is picked up' },
  { kind: 'engine-overhead', backend: 'node-cpu', model: 'first', dtypes: FP32, quick: true, why: "the engine's own time per step, graphs answering instantly" },
  { kind: 'composite-psnr', backend: 'node-cpu', model: 'compare', dtypes: FP32, quick: true, why: 'PSNR outside the edited region with and without the original-pixel composite, on real photos' },
  { kind: 'shapes-eval', backend: 'node-cpu', model: { only: 'shapes' }, dtypes: FP32, quick: false, why: 'edit fidelity, preservation and localisation on shapes-world test pairs' },
];

export interface BenchCase {
  kind: CaseKind;
  backend: CaseRule['backend'];
  /** '' for a case without a package (the full-size step) */
  model: string;
  dtype: string;
  stepOptions?: WebGpuStepOptions;
  pair?: CaseRule['pair'];
}

export interface PlanOptions {
  quick: boolean;
  /** selected models, in order (those without a package already dropped) */
  models: string[];
  backends: BackendName[];
  dtypes?: string[];
  reference: boolean;
  flops: boolean;
  webgpuSweep: boolean;
  /** the PyTorch checkpoint of the shapes model is here */
  shapesCheckpoint: boolean;
  /** the dtypes a model's package has, with the providers each runs on */
  packageDtypes: (model: string) => Record<string, { providers: readonly string[] }>;
}

export function compareModel(models: readonly string[]): string {
  return models.includes('shapes') ? 'shapes' : 'tiny-random';
}

export function referenceModel(o: Pick<PlanOptions, 'quick' | 'models' | 'shapesCheckpoint'>): string {
  return !o.quick && o.models.includes('shapes') && o.shapesCheckpoint ? 'shapes' : 'tiny-random';
}

function modelsFor(rule: CaseRule, o: PlanOptions): string[] {
  const m = rule.model;
  if (typeof m === 'object') return o.models.includes(m.only) ? [m.only] : [];
  if (m === 'none') return [''];
  if (m === 'each') return o.models;
  if (m === 'first') return o.models.slice(0, 1);
  const one = m === 'compare' ? compareModel(o.models) : referenceModel(o);
  return o.models.includes(one) ? [one] : [];
}

function backendSelected(rule: CaseRule, o: PlanOptions): boolean {
  if (rule.backend === 'python') return true;
  // the reference pairs PyTorch with node-cpu edits; the full-size step, the engine's own time and
  // the quality cases run on node
  if (rule.backend === 'pytorch') return o.backends.includes('node-cpu');
  return o.backends.includes(rule.backend);
}

const key = (c: BenchCase) =>
  `${c.kind} ${c.backend} ${c.model} ${c.dtype} ${c.stepOptions ? JSON.stringify(c.stepOptions) : ''}`;

/** The cases of one run, in order: the registry expanded over the options and the packages here. */
export function planCases(o: PlanOptions): BenchCase[] {
  const out: BenchCase[] = [];
  const seen = new Set<string>();
  for (const rule of CASES) {
    if (!rule.quick && o.quick) continue;
    if (
      (rule.needs === 'reference' && !o.reference) ||
      (rule.needs === 'flops' && !o.flops) ||
      (rule.needs === 'sweep' && !o.webgpuSweep)
    )
      continue;
    if (!backendSelected(rule, o)) continue;
    if (rule.kind === 'python-measures') {
      out.push({ kind: rule.kind, backend: rule.backend, model: '', dtype: '' });
      continue;
    }
    if (rule.pair === 'wasm_threads_vs_node' && !o.backends.includes('node-cpu')) continue;
    if (rule.pair === 'webgpu_vs_wasm' && !o.backends.includes('wasm-threads')) continue;
    const provider = rule.backend === 'webgpu' ? 'webgpu' : 'wasm';
    for (const model of modelsFor(rule, o)) {
      const have = model ? o.packageDtypes(model) : null;
      const dtypes = (o.quick ? rule.dtypes.quick : rule.dtypes.full).filter(
        (d) =>
          !o.dtypes || o.dtypes.includes(d) || (rule.kind !== 'node-edit' && rule.kind !== 'browser-edit'),
      );
      for (const dtype of dtypes) {
        if (have && !have[dtype]?.providers.includes(provider)) continue;
        for (const stepOptions of rule.stepOptions ?? [undefined]) {
          const c: BenchCase = {
            kind: rule.kind,
            backend: rule.backend,
            model,
            dtype,
            ...(stepOptions ? { stepOptions } : {}),
            ...(rule.pair ? { pair: rule.pair } : {}),
          };
          const k = key(c);
          if (seen.has(k)) continue;
          seen.add(k);
          out.push(c);
        }
      }
    }
  }
  return out;
}
