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
import { readManifest } from '../../cli/manifestFile';
import type { Dtype, Manifest } from '../../src/engine/manifest';
import { benchBrowser, buildApp, CHROMIUM, optionsLabel, renderPng, serve } from './browser';
import type { BrowserCase } from './browser';
import { chartSvg } from './chart';
import { benchFullsizeStep, FULLSIZE_DIR, fullsizeAvailable } from './fullsize';
import { benchNode, PROMPTS } from './node';
import type { NodeBenchOptions } from './node';
import { pythonAvailable, runPython } from './python';
import type { PythonResult } from './python';
import { formatTable } from './table';
import { engineStepCost, GEOMETRY_1024 } from './engineOverhead';
import { median } from './stats';
import type { BackendName, BenchReport, BenchRun, EngineOverhead, Machine, RatioPairs, Reference } from './types';
import { emptyRun } from './types';

export const CACHE = 'node_modules/.cache/editmgt-bench';
const CPU_DTYPES = ['fp32', 'q8', 'q4'];
const GPU_DTYPES = ['fp32', 'fp16', 'q4', 'q4f16'];

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

const SWEEP = [false, true].flatMap((graphCapture) => [false, true].map((freeDimensionOverrides) => ({ graphCapture, freeDimensionOverrides })));

function modelDir(model: string): string {
  return join('public/models', model);
}

function manifestOf(model: string): Manifest | null {
  return existsSync(join(modelDir(model), 'manifest.json')) ? readManifest(modelDir(model)) : null;
}

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

function machine(threads: number, peak: PythonResult['matmul_peak']): Machine {
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
    matmul_peak_gflops_per_s: peak?.gflops_per_s ?? null,
    matmul_peak_threads: peak?.threads ?? threads,
  };
}

function runNodeCase(o: NodeBenchOptions, isolate: boolean): Promise<BenchRun> {
  if (!isolate) return benchNode(o);
  const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
  const r = spawnSync(tsx, [fileURLToPath(new URL('./nodeChild.ts', import.meta.url)), JSON.stringify(o)], { encoding: 'utf8', timeout: 20 * 60_000 });
  if (r.status !== 0) throw new Error((r.stderr || `exit ${r.status}`).trim().split('\n').slice(-1)[0]);
  return Promise.resolve(JSON.parse(r.stdout.trim().split('\n').pop()!) as BenchRun);
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const started = new Date().toISOString();
  const models = o.models.filter((m) => {
    if (manifestOf(m)) return true;
    o.log(`model ${m}: no package in ${modelDir(m)} — skipped`);
    return false;
  });
  const cases: { backend: BackendName; model: string; dtype: string; stepOptions?: BrowserCase['stepOptions'] }[] = [];
  for (const model of models) {
    const have = manifestOf(model)!.dtypes;
    for (const backend of o.backends) {
      const wanted = (o.quick ? ['fp32'] : backend === 'webgpu' ? GPU_DTYPES : CPU_DTYPES).filter((d) => !o.dtypes || o.dtypes.includes(d));
      const provider = backend === 'webgpu' ? 'webgpu' : 'wasm';
      for (const dtype of wanted) if (have[dtype as Dtype]?.providers.includes(provider)) cases.push({ backend, model, dtype });
      if (backend === 'webgpu' && o.webgpuSweep && have['fp32']?.providers.includes('webgpu')) {
        for (const stepOptions of SWEEP) cases.push({ backend, model, dtype: 'fp32', stepOptions });
      }
    }
  }

  // Python first: FLOPs of every step graph and the matmul peak.
  let py: PythonResult = {};
  const refModel = !o.quick && models.includes('shapes') && existsSync('tools/shapes/.work/checkpoint') ? 'shapes' : 'tiny-random';
  const hasPython = pythonAvailable();
  if (o.flops && hasPython) {
    const graphs = [...new Set(cases.map((c) => join(modelDir(c.model), c.dtype, 'transformer_step.onnx')))];
    o.log('python: FLOPs, matmul peak…');
    try {
      py = runPython('tools/bench/reference.py', ['--package', modelDir(refModel), '--threads', String(o.threads), '--no-reference',
        '--peak-seconds', o.quick ? '0.3' : '1', '--flops', ...graphs], 10 * 60_000);
    } catch (err) {
      o.log(`python part failed: ${(err as Error).message}`);
    }
  } else if ((o.flops || o.reference) && !hasPython) {
    o.log('no Python venv (npm run export:setup): no reference, FLOPs or matmul peak');
  }
  const m = machine(o.threads, py.matmul_peak);
  const base = { warmSteps: o.warmSteps, prompt: PROMPTS.prompt, warmPrompt: PROMPTS.warmPrompt };

  const runs: BenchRun[] = [];
  for (const c of cases.filter((x) => x.backend === 'node-cpu')) {
    o.log(`node-cpu ${c.dtype} ${c.model}…`);
    try {
      runs.push(await runNodeCase({ modelDir: modelDir(c.model), dtype: c.dtype, steps: o.steps, threads: o.threads, ...base }, o.isolate));
    } catch (err) {
      runs.push(emptyRun('node-cpu', c.model, c.dtype, o.threads, o.steps, (err as Error).message));
    }
  }

  // The PyTorch reference and onnxruntime-node side by side, alternating, so that both halves of
  // each ratio see the same load on a shared machine.
  const pairs: RatioPairs = { node_vs_pytorch: [], wasm_threads_vs_node: null, webgpu_vs_wasm: null, node_vs_pytorch_fullsize_step: null };
  let referenceFullsize: BenchReport['reference_fullsize'] = null;
  let reference: Reference | null = null;
  if (o.reference && hasPython && models.includes(refModel)) {
    const args = ['--package', modelDir(refModel), '--threads', String(o.threads), '--steps', String(o.steps), '--warm-steps', String(o.warmSteps),
      '--prompt', PROMPTS.prompt, '--warm-prompt', PROMPTS.warmPrompt];
    if (refModel === 'shapes') args.push('--checkpoint', 'tools/shapes/.work/checkpoint');
    else args.push('--tiny-cache', resolve(CACHE));
    let ortPython: Reference['ort_python'];
    for (let round = 0; round < o.referenceRounds; round++) {
      o.log(`PyTorch reference vs node-cpu on ${refModel}, round ${round + 1}/${o.referenceRounds}…`);
      try {
        const node = await runNodeCase({ modelDir: modelDir(refModel), dtype: 'fp32', steps: o.steps, threads: o.threads, ...base }, o.isolate);
        const ref = runPython('tools/bench/reference.py', round === 0 && !o.quick ? [...args, '--ort'] : args, 30 * 60_000) as unknown as Reference;
        ortPython ??= ref.ort_python;
        reference = { ...ref, ...(ortPython ? { ort_python: ortPython } : {}) };
        if (node.edit_ms) pairs.node_vs_pytorch.push({ node_edit_ms: node.edit_ms, pytorch_edit_ms: ref.edit_ms, node_step_ms: node.step_ms_median, pytorch_step_ms: ref.step_ms_median });
      } catch (err) {
        o.log(`reference round failed: ${(err as Error).message}`);
      }
    }
  }

  // The compared browser runs first and next to each other (node fp32, WASM-threads fp32, WebGPU fp32).
  const cmpModel = models.includes('shapes') ? 'shapes' : 'tiny-random';
  const rank = (c: (typeof cases)[number]) =>
    c.model === cmpModel && c.dtype === 'fp32' && !c.stepOptions ? (c.backend === 'wasm-threads' ? 0 : c.backend === 'webgpu' ? 1 : 2) : 2;
  const browserCases = cases.filter((x) => x.backend !== 'node-cpu').sort((a, b) => rank(a) - rank(b));
  if (browserCases.length) {
    const dist = join(CACHE, 'dist');
    o.log('building the app with bench.html…');
    buildApp(dist);
    const server = await serve(dist, o.port);
    try {
      for (const c of browserCases) {
        o.log(`${c.backend} ${c.dtype} ${c.model}${c.stepOptions ? ` ${optionsLabel(c.stepOptions)}` : ''}…`);
        const threads = c.backend === 'wasm-1t' ? 1 : o.threads;
        const steps = c.backend === 'webgpu' ? o.webgpuSteps : o.steps;
        const paired = rank(c) === 0 && o.backends.includes('node-cpu');
        const node = paired ? await runNodeCase({ modelDir: modelDir(c.model), dtype: 'fp32', steps: o.steps, threads: o.threads, ...base }, o.isolate).catch(() => null) : null;
        const { run, adapter } = await benchBrowser(server, { ...c, threads, steps, ...base }, 15 * 60_000);
        if (adapter) m.webgpu_adapter = adapter;
        runs.push(run);
        const ok = run.status === 'ok' && run.step_ms_median !== null;
        if (paired && node?.step_ms_median && ok) pairs.wasm_threads_vs_node = { node_step_ms: node.step_ms_median, wasm_threads_step_ms: run.step_ms_median! };
        if (rank(c) === 1 && ok) {
          const wasm = runs.find((r) => r.backend === 'wasm-threads' && r.model === cmpModel && r.dtype === 'fp32' && r.status === 'ok');
          if (wasm?.step_ms_median) pairs.webgpu_vs_wasm = { wasm_threads_step_ms: wasm.step_ms_median, webgpu_step_ms: run.step_ms_median! };
        }
      }
    } finally {
      server.close();
    }
  }

  // Last, so that a package the exporter is still building can be picked up.
  if (!o.quick && o.backends.includes('node-cpu')) {
    o.log(fullsizeAvailable() ? 'node-cpu fullsize-random: one step…' : 'fullsize-random: not available');
    const full = await benchFullsizeStep('fp32', o.threads);
    runs.push(full);
    // the same step in PyTorch right after it, for the full-size node / PyTorch ratio
    const ckpt = join(FULLSIZE_DIR, 'checkpoint');
    if (o.reference && hasPython && full.status === 'ok' && full.step_ms_median && existsSync(ckpt)) {
      o.log('PyTorch fullsize-random: one step…');
      try {
        const t = runPython('tools/bench/torch_step.py', ['--checkpoint', ckpt, '--threads', String(o.threads)], 30 * 60_000) as unknown as {
          step_ms: number[]; load_ms: number; peak_rss_bytes: number;
        };
        referenceFullsize = { model: 'fullsize-random', step_ms: t.step_ms[0]!, load_ms: t.load_ms, peak_rss_bytes: t.peak_rss_bytes };
        pairs.node_vs_pytorch_fullsize_step = { node_step_ms: full.step_ms_median, pytorch_step_ms: t.step_ms[0]! };
      } catch (err) {
        o.log(`PyTorch full-size step failed: ${(err as Error).message}`);
      }
    }
  }

  // FLOPs per step and the achieved rate against the measured peak.
  const fullsizeFlops = readCachedFullsizeFlops();
  for (const r of runs) {
    const g = r.model === 'fullsize-random' ? fullsizeFlops : py.flops?.[join(modelDir(r.model), r.dtype, 'transformer_step.onnx')];
    if (g === undefined || g === null) continue;
    r.gflops_per_step = g;
    if (r.step_ms_median) {
      r.gflops_per_s = g / (r.step_ms_median / 1000);
      if (m.matmul_peak_gflops_per_s) r.pct_of_peak = (100 * r.gflops_per_s) / m.matmul_peak_gflops_per_s;
    }
  }

  let engineOverhead: EngineOverhead | null = null;
  if (o.backends.includes('node-cpu')) {
    o.log('engine time per step without graphs…');
    const cfg = models.length ? manifestOf(models[0]!)?.config : undefined;
    const geo = cfg?.resolutions[String(cfg.resolution)];
    const small = cfg && geo ? await engineStepCost({ resolution: cfg.resolution, tokenGrid: geo.token_grid[0]!, attentionGrid: geo.transformer_grid[0]!, codebookSize: cfg.codebook_size }, o.steps) : null;
    const big = await engineStepCost(GEOMETRY_1024, o.quick ? 4 : 16);
    const full = runs.find((r) => r.model === 'fullsize-random' && r.status === 'ok');
    engineOverhead = {
      model: small && geo ? { tokens: geo.token_grid[0]! * geo.token_grid[1]!, engine_ms_per_step: small.engine_ms_per_step, engine_ms_per_step_p90: small.engine_ms_per_step_p90 } : null,
      at_1024: { engine_ms_per_step: big.engine_ms_per_step, engine_ms_per_step_p90: big.engine_ms_per_step_p90 },
      pct_of_fullsize_step: full?.step_ms_median ? (100 * big.engine_ms_per_step) / full.step_ms_median : null,
    };
  }

  const medianOf = (v: number[]) => (v.length ? median(v) : null);
  return {
    machine: m,
    quick: o.quick,
    started,
    runs,
    reference,
    reference_fullsize: referenceFullsize,
    engine_overhead: engineOverhead,
    ratios: {
      node_vs_pytorch: medianOf(pairs.node_vs_pytorch.map((p) => p.node_edit_ms / p.pytorch_edit_ms)),
      wasm_threads_vs_node: pairs.wasm_threads_vs_node ? pairs.wasm_threads_vs_node.wasm_threads_step_ms / pairs.wasm_threads_vs_node.node_step_ms : null,
      webgpu_vs_wasm: pairs.webgpu_vs_wasm ? pairs.webgpu_vs_wasm.webgpu_step_ms / pairs.webgpu_vs_wasm.wasm_threads_step_ms : null,
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
    const r = runPython('tools/bench/flops_torch.py', ['--config', 'fullsize'], 10 * 60_000);
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
  const backends = (values.backends ? (values.backends.split(',') as BackendName[]) : all).filter((b) => !values['no-browser'] || b === 'node-cpu');
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
