/**
 * The quick benchmark's node part on tiny-random, 2 steps: the report has the documented shape
 * (docs/benchmarks.md) and sane positive numbers. FLOPs and the matmul peak come from Python when
 * the exporter's venv is there (CI prepares it); the browser and PyTorch parts are left to
 * `npm run bench`.
 */
import { describe, expect, it } from 'vitest';
import { pythonAvailable } from './python/runPython';
import { runBench } from './run';
import { formatTable } from './report/table';

describe('npm run bench (node part, quick)', () => {
  it('reports node-cpu on tiny-random with the documented JSON shape', async () => {
    const report = await runBench({
      quick: true,
      models: ['tiny-random'],
      backends: ['node-cpu'],
      threads: 1,
      steps: 2,
      webgpuSteps: 1,
      warmSteps: 1,
      reference: false,
      referenceRounds: 0,
      flops: pythonAvailable(),
      isolate: false,
      port: 0,
      webgpuSweep: false,
      log: () => undefined,
    });
    expect(Object.keys(report).sort()).toEqual([
      'composite_psnr',
      'engine_overhead',
      'machine',
      'quick',
      'ratio_pairs',
      'ratios',
      'reference',
      'reference_fullsize',
      'runs',
      'shapes_eval',
      'started',
    ]);
    expect(Object.keys(report.ratios).sort()).toEqual([
      'node_vs_pytorch',
      'wasm_threads_vs_node',
      'webgpu_vs_wasm',
    ]);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.runs).toHaveLength(1);
    const r = report.runs[0]!;
    expect(r).toMatchObject({
      backend: 'node-cpu',
      dtype: 'fp32',
      model: 'tiny-random',
      status: 'ok',
      steps: 2,
    });
    for (const k of [
      'load_cold_ms',
      'load_cached_ms',
      'text_encode_ms',
      'vq_encode_ms',
      'step_ms_median',
      'step_ms_p90',
      'decode_ms',
      'edit_ms',
      'first_step_ms',
    ] as const) {
      expect(r[k], k).toBeGreaterThan(0);
      expect(r[k], k).toBeLessThan(60_000);
    }
    expect(r.step_ms_p90!).toBeGreaterThanOrEqual(r.step_ms_median!);
    expect(r.first_step_ms!).toBeLessThanOrEqual(r.edit_ms!);
    // tiny-random: 16×16 tokens, 8×8 attention → 3·256·4 + 64·4
    expect(r.readback_bytes_per_step).toBe(3328);
    expect(r.readback_bytes_per_step_1024).toBe(53_248);
    expect(r.overhead_pct!).toBeGreaterThan(-50);
    expect(r.overhead_pct!).toBeLessThan(100);
    if (pythonAvailable()) {
      expect(r.gflops_per_step!).toBeCloseTo(0.257, 2);
      expect(r.gflops_per_s!).toBeGreaterThan(0);
      expect(report.machine.matmul_peak_gflops_per_s!).toBeGreaterThan(0);
    }
    expect(report.engine_overhead!.model!.tokens).toBe(256);
    expect(report.engine_overhead!.at_1024.engine_ms_per_step).toBeGreaterThan(0);
    // the composite case: one photo at its own size; the composite gives the outside back
    expect(report.composite_psnr).toHaveLength(1);
    const c = report.composite_psnr[0]!;
    expect(c).toMatchObject({
      model: 'tiny-random',
      dtype: 'fp32',
      image: 'chelsea.png',
      width: 451,
      height: 300,
      steps: 2,
      readback_bytes_per_step: 3328,
    });
    expect(c.psnr_outside_composite_on).toBeGreaterThan(c.psnr_outside_composite_off);
    expect(report.shapes_eval).toBeNull(); // full runs only
    expect(formatTable(report)).toContain('| node-cpu | fp32 | tiny-random |');
    expect(formatTable(report)).toContain('| tiny-random | fp32 | chelsea.png | 451×300 |');
  });
});
