/** The case registry expanded against the packages this repo ships (public/models). */
import { describe, expect, it } from 'vitest';
import { CASES, planCases } from './cases';
import type { PlanOptions } from './cases';
import { PHASES } from './phases';
import { manifestOf } from './phases/context';
import type { BackendName } from './report/types';

const ALL: BackendName[] = ['node-cpu', 'wasm-1t', 'wasm-threads', 'webgpu'];
const base: PlanOptions = {
  quick: true,
  models: ['tiny-random'],
  backends: ALL,
  reference: true,
  flops: true,
  webgpuSweep: false,
  shapesCheckpoint: false,
  packageDtypes: (m) => manifestOf(m)?.dtypes ?? {},
};
const names = (o: PlanOptions) =>
  planCases(o).map((c) =>
    [c.kind, c.backend, c.model, c.dtype, c.pair ?? '', c.stepOptions ? 'sweep' : '']
      .filter(Boolean)
      .join(' '),
  );

describe('bench case registry', () => {
  it('every kind in the table has its phase', () => {
    for (const rule of CASES) expect(typeof PHASES[rule.kind], rule.kind).toBe('function');
  });

  it('quick: fp32 on every backend, the compared browser runs first and next to each other', () => {
    expect(names(base)).toEqual([
      'python-measures python',
      'node-edit node-cpu tiny-random fp32',
      'reference-rounds pytorch tiny-random fp32',
      'browser-edit wasm-threads tiny-random fp32 wasm_threads_vs_node',
      'browser-edit webgpu tiny-random fp32 webgpu_vs_wasm',
      'browser-edit wasm-1t tiny-random fp32',
      'engine-overhead node-cpu tiny-random fp32',
      'composite-psnr node-cpu tiny-random fp32',
    ]);
  });

  it('full, node only: each dtype the package runs on the CPU, the full-size step, the shapes evaluation', () => {
    const plan = names({
      ...base,
      quick: false,
      models: ['tiny-random', 'shapes'],
      backends: ['node-cpu'],
      reference: false,
      flops: false,
    });
    expect(plan).toEqual([
      'node-edit node-cpu tiny-random fp32',
      'node-edit node-cpu tiny-random q8',
      'node-edit node-cpu tiny-random q4',
      'node-edit node-cpu shapes fp32',
      'node-edit node-cpu shapes q8',
      'node-edit node-cpu shapes q4',
      'fullsize-step node-cpu fp32',
      'engine-overhead node-cpu tiny-random fp32',
      'composite-psnr node-cpu shapes fp32',
      'shapes-eval node-cpu shapes fp32',
    ]);
  });

  it('WebGPU: only the dtypes the package has for it, then the option sweep; --dtypes narrows the edits', () => {
    const plan = names({
      ...base,
      quick: false,
      backends: ['webgpu'],
      reference: false,
      flops: false,
      webgpuSweep: true,
    });
    expect(plan).toEqual([
      'browser-edit webgpu tiny-random fp32',
      'browser-edit webgpu tiny-random fp16',
      'browser-edit webgpu tiny-random q4',
      'browser-edit webgpu tiny-random q4f16',
      ...Array(4).fill('browser-edit webgpu tiny-random fp32 sweep'),
    ]);
    expect(
      names({
        ...base,
        quick: false,
        backends: ['node-cpu'],
        dtypes: ['q8'],
        reference: false,
        flops: false,
      }),
    ).toEqual([
      'node-edit node-cpu tiny-random q8',
      'fullsize-step node-cpu fp32',
      'engine-overhead node-cpu tiny-random fp32',
      'composite-psnr node-cpu tiny-random fp32',
    ]);
  });

  it('the PyTorch reference runs on shapes when its checkpoint is here, and pairs need both halves', () => {
    const plan = planCases({
      ...base,
      quick: false,
      models: ['tiny-random', 'shapes'],
      backends: ['wasm-threads', 'node-cpu'],
      shapesCheckpoint: true,
    });
    expect(plan.find((c) => c.kind === 'reference-rounds')?.model).toBe('shapes');
    expect(plan.find((c) => c.pair === 'wasm_threads_vs_node')?.model).toBe('shapes');
    expect(planCases({ ...base, backends: ['wasm-threads'] }).some((c) => c.pair)).toBe(false);
  });
});
