/**
 * npm run bench -- [--quick] [--json FILE] [--png FILE] [--threads N] [--steps N]
 *   [--models a,b] [--dtypes fp32,q8] [--backends node-cpu,wasm-1t,wasm-threads,webgpu] [--no-browser]
 *   [--no-reference] [--no-sweep] [--port P]
 * npm run bench -- --from FILE.json [--png FILE]   re-renders a saved report (table and chart).
 * Times EditMGT edits on every backend here (onnxruntime-node; Chromium WASM 1 thread and
 * threaded; Chromium WebGPU) × dtype × model, the PyTorch reference on the same CPU, FLOPs per
 * step against the measured matmul peak; prints a table, writes JSON and a PNG chart.
 * docs/benchmarks.md explains the fields and holds the latest full table.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CHROMIUM, renderPng } from './browser/driver';
import { planCases } from './cases';
import { PHASES } from './phases';
import { CACHE, manifestOf, modelDir, newContext } from './phases/context';
import type { BenchOptions } from './phases/context';
import { shapesCheckpointHere } from './phases/python';
import { pythonAvailable, runPython } from './python/runPython';
import { chartSvg } from './report/chart';
import { median } from './report/stats';
import { formatTable } from './report/table';
import type { BackendName, BenchReport, Machine } from './report/types';

export { CACHE };
export type { BenchOptions };

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, 'utf8')) as { version: string })
      .version;
  } catch {
    return 'missing';
  }
}

function machine(threads: number): Machine {
  const chromium = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' });
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memory_bytes: totalmem(),
    load_average_at_start: loadavg().map((v) => Math.round(v * 100) / 100),
    os: `${osType()} ${release()}`,
    node: process.version,
    onnxruntime_node: version('onnxruntime-node'),
    onnxruntime_web: version('onnxruntime-web'),
    chromium: chromium.status === 0 ? chromium.stdout.trim() : null,
    webgpu_adapter: null,
    matmul_peak_gflops_per_s: null,
    matmul_peak_threads: threads,
  };
}

/** Plans the cases (bench/cases.ts), runs each through its kind's phase, assembles the report. */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const started = new Date().toISOString();
  const models = o.models.filter((m) => {
    if (manifestOf(m)) return true;
    o.log(`model ${m}: no package in ${modelDir(m)} — skipped`);
    return false;
  });
  const plan = planCases({
    quick: o.quick,
    models,
    backends: o.backends,
    ...(o.dtypes ? { dtypes: o.dtypes } : {}),
    reference: o.reference,
    flops: o.flops,
    webgpuSweep: o.webgpuSweep,
    shapesCheckpoint: shapesCheckpointHere(),
    packageDtypes: (m) => manifestOf(m)?.dtypes ?? {},
  });
  const ctx = newContext({ ...o, models }, plan, machine(o.threads));
  try {
    for (const c of plan) await PHASES[c.kind](c, ctx);
  } finally {
    ctx.close();
  }
  const { measured } = ctx;

  // FLOPs per step and the achieved rate against the measured peak.
  const fullsizeFlops = readCachedFullsizeFlops();
  for (const r of measured.runs) {
    const g =
      r.model === 'fullsize-random'
        ? fullsizeFlops
        : ctx.python.flops?.[join(modelDir(r.model), r.dtype, 'transformer_step.onnx')];
    if (g === undefined || g === null) continue;
    r.gflops_per_step = g;
    if (r.step_ms_median) {
      r.gflops_per_s = g / (r.step_ms_median / 1000);
      if (ctx.machine.matmul_peak_gflops_per_s)
        r.pct_of_peak = (100 * r.gflops_per_s) / ctx.machine.matmul_peak_gflops_per_s;
    }
  }

  const pairs = measured.ratio_pairs;
  const medianOf = (v: number[]) => (v.length ? median(v) : null);
  return {
    machine: ctx.machine,
    quick: o.quick,
    started,
    runs: measured.runs,
    reference: measured.reference,
    reference_fullsize: measured.reference_fullsize,
    engine_overhead: measured.engine_overhead,
    composite_psnr: measured.composite_psnr,
    shapes_eval: measured.shapes_eval,
    ratios: {
      node_vs_pytorch: medianOf(pairs.node_vs_pytorch.map((p) => p.node_edit_ms / p.pytorch_edit_ms)),
      wasm_threads_vs_node: pairs.wasm_threads_vs_node
        ? pairs.wasm_threads_vs_node.wasm_threads_step_ms / pairs.wasm_threads_vs_node.node_step_ms
        : null,
      webgpu_vs_wasm: pairs.webgpu_vs_wasm
        ? pairs.webgpu_vs_wasm.webgpu_step_ms / pairs.webgpu_vs_wasm.wasm_threads_step_ms
        : null,
    },
    ratio_pairs: pairs,
  };
}

/** FLOPs of one full-size step (flops_torch.py, cached: it takes a minute to count). */
function readCachedFullsizeFlops(): number | null {
  const p = join(CACHE, 'fullsize-flops.json');
  if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { gflops: number }).gflops;
  return null;
}

function countFullsizeFlops(log: (l: string) => void): void {
  const p = join(CACHE, 'fullsize-flops.json');
  if (existsSync(p) || !pythonAvailable()) return;
  log('counting full-size FLOPs (meta device, once)…');
  try {
    const r = runPython('flops_torch.py', ['--config', 'fullsize'], 10 * 60_000);
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(p, JSON.stringify(r));
  } catch (err) {
    log(`full-size FLOPs: ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      from: { type: 'string' },
      png: { type: 'string' },
      threads: { type: 'string' },
      steps: { type: 'string' },
      models: { type: 'string' },
      dtypes: { type: 'string' },
      backends: { type: 'string' },
      'no-browser': { type: 'boolean', default: false },
      'no-reference': { type: 'boolean', default: false },
      'no-sweep': { type: 'boolean', default: false },
      port: { type: 'string', default: '4391' },
    },
    strict: true,
  });
  const quick = values.quick;
  const log = (l: string) => process.stderr.write(`${l}\n`);
  if (values.from) {
    // re-render a saved report: table on stdout, chart beside it (or --png)
    const saved = JSON.parse(readFileSync(values.from, 'utf8')) as BenchReport;
    process.stdout.write(`${formatTable(saved)}\n`);
    const { svg, width, height } = chartSvg(saved);
    const png = values.png ?? values.from.replace(/\.json$/, '') + '.png';
    await renderPng(svg, width, height, png);
    log(`wrote ${png}`);
    return;
  }
  const all: BackendName[] = ['node-cpu', 'wasm-1t', 'wasm-threads', 'webgpu'];
  const backends = (values.backends ? (values.backends.split(',') as BackendName[]) : all).filter(
    (b) => !values['no-browser'] || b === 'node-cpu',
  );
  const bad = backends.filter((b) => !all.includes(b));
  if (bad.length) throw new Error(`unknown backend ${bad.join(', ')} (have ${all.join(', ')})`);
  const steps = Number(values.steps ?? (quick ? 4 : 16));
  if (!quick) countFullsizeFlops(log);
  const report = await runBench({
    quick,
    models: values.models ? values.models.split(',') : quick ? ['tiny-random'] : ['tiny-random', 'shapes'],
    backends,
    threads: Number(values.threads ?? cpus().length),
    steps,
    webgpuSteps: Math.min(steps, quick ? 2 : 4),
    warmSteps: quick ? 1 : 2,
    reference: !values['no-reference'],
    referenceRounds: quick ? 1 : 3,
    flops: true,
    isolate: true,
    port: Number(values.port),
    webgpuSweep: !quick && !values['no-sweep'],
    ...(values.dtypes ? { dtypes: values.dtypes.split(',') } : {}),
    log,
  });
  process.stdout.write(`${formatTable(report)}\n`);
  const json = values.json ?? join(CACHE, 'bench.json');
  mkdirSync(dirname(resolve(json)), { recursive: true });
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const png = values.png ?? json.replace(/\.json$/, '') + '.png';
  if (!values['no-browser'] && existsSync(CHROMIUM)) {
    const { svg, width, height } = chartSvg(report);
    await renderPng(svg, width, height, png);
    log(`wrote ${json} and ${png}`);
  } else {
    log(`wrote ${json}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
