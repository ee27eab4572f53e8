/**
 * The timing phases: one edit on onnxruntime-node, one in Chromium (WASM or WebGPU), one
 * full-size step, and the engine's own time per step.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchBrowser, optionsLabel } from '../browser/driver';
import type { BenchCase } from '../cases';
import { engineStepCost, GEOMETRY_1024 } from '../node/engineOverhead';
import { benchFullsizeStep, FULLSIZE_DIR, fullsizeAvailable } from '../node/fullsize';
import { benchNode, PROMPTS } from '../node/node';
import type { NodeBenchOptions } from '../node/node';
import { pythonAvailable, runPython } from '../python/runPython';
import type { BenchRun } from '../report/types';
import { emptyRun } from '../report/types';
import type { BenchContext } from './context';
import { manifestOf, modelDir } from './context';

function nodeOptions(ctx: BenchContext, model: string, dtype: string): NodeBenchOptions {
  const o = ctx.o;
  return {
    modelDir: modelDir(model),
    dtype,
    steps: o.steps,
    threads: o.threads,
    warmSteps: o.warmSteps,
    prompt: PROMPTS.prompt,
    warmPrompt: PROMPTS.warmPrompt,
  };
}

/** One node edit, in its own process when the run isolates cases (its peak memory is its own). */
export function runNodeCase(ctx: BenchContext, model: string, dtype: string): Promise<BenchRun> {
  const options = nodeOptions(ctx, model, dtype);
  if (!ctx.o.isolate) return benchNode(options);
  const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
  const child = fileURLToPath(new URL('../node/nodeChild.ts', import.meta.url));
  const r = spawnSync(tsx, [child, JSON.stringify(options)], { encoding: 'utf8', timeout: 20 * 60_000 });
  if (r.status !== 0)
    return Promise.reject(new Error((r.stderr || `exit ${r.status}`).trim().split('\n').slice(-1)[0]));
  return Promise.resolve(JSON.parse(r.stdout.trim().split('\n').pop()!) as BenchRun);
}

export async function nodeEdit(c: BenchCase, ctx: BenchContext): Promise<void> {
  ctx.o.log(`node-cpu ${c.dtype} ${c.model}…`);
  try {
    ctx.measured.runs.push(await runNodeCase(ctx, c.model, c.dtype));
  } catch (err) {
    ctx.measured.runs.push(
      emptyRun('node-cpu', c.model, c.dtype, ctx.o.threads, ctx.o.steps, (err as Error).message),
    );
  }
}

export async function browserEdit(c: BenchCase, ctx: BenchContext): Promise<void> {
  const { o, measured } = ctx;
  const backend = c.backend as BenchRun['backend'];
  o.log(
    `${backend} ${c.dtype} ${c.model}${c.stepOptions ? ` ${optionsLabel(c.stepOptions)}` : ''}${c.pair ? ` (for ${c.pair})` : ''}…`,
  );
  const server = await ctx.server();
  // the other half of wasm_threads_vs_node, made just before (not a row of its own)
  const node =
    c.pair === 'wasm_threads_vs_node' ? await runNodeCase(ctx, c.model, 'fp32').catch(() => null) : null;
  const threads = backend === 'wasm-1t' ? 1 : o.threads;
  const steps = backend === 'webgpu' ? o.webgpuSteps : o.steps;
  const { run, adapter } = await benchBrowser(
    server,
    {
      backend,
      model: c.model,
      dtype: c.dtype,
      threads,
      steps,
      warmSteps: o.warmSteps,
      prompt: PROMPTS.prompt,
      warmPrompt: PROMPTS.warmPrompt,
      ...(c.stepOptions ? { stepOptions: c.stepOptions } : {}),
    },
    15 * 60_000,
  );
  if (adapter) ctx.machine.webgpu_adapter = adapter;
  measured.runs.push(run);
  if (run.status !== 'ok' || run.step_ms_median === null) return;
  if (c.pair === 'wasm_threads_vs_node' && node?.step_ms_median) {
    measured.ratio_pairs.wasm_threads_vs_node = {
      node_step_ms: node.step_ms_median,
      wasm_threads_step_ms: run.step_ms_median,
    };
  }
  if (c.pair === 'webgpu_vs_wasm') {
    const wasm = measured.runs.find(
      (r) =>
        r.backend === 'wasm-threads' &&
        r.model === c.model &&
        r.dtype === 'fp32' &&
        r.status === 'ok' &&
        !r.options,
    );
    if (wasm?.step_ms_median)
      measured.ratio_pairs.webgpu_vs_wasm = {
        wasm_threads_step_ms: wasm.step_ms_median,
        webgpu_step_ms: run.step_ms_median,
      };
  }
}

/** One full-size step on onnxruntime-node, then the same step in PyTorch right after it. */
export async function fullsizeStep(c: BenchCase, ctx: BenchContext): Promise<void> {
  const { o, measured } = ctx;
  o.log(fullsizeAvailable() ? 'node-cpu fullsize-random: one step…' : 'fullsize-random: not available');
  const full = await benchFullsizeStep(c.dtype, o.threads);
  measured.runs.push(full);
  const ckpt = join(FULLSIZE_DIR, 'checkpoint');
  if (!o.reference || !pythonAvailable() || full.status !== 'ok' || !full.step_ms_median || !existsSync(ckpt))
    return;
  o.log('PyTorch fullsize-random: one step…');
  try {
    const t = runPython(
      'torch_step.py',
      ['--checkpoint', ckpt, '--threads', String(o.threads)],
      30 * 60_000,
    ) as unknown as {
      step_ms: number[];
      load_ms: number;
      peak_rss_bytes: number;
    };
    measured.reference_fullsize = {
      model: 'fullsize-random',
      step_ms: t.step_ms[0]!,
      load_ms: t.load_ms,
      peak_rss_bytes: t.peak_rss_bytes,
    };
    measured.ratio_pairs.node_vs_pytorch_fullsize_step = {
      node_step_ms: full.step_ms_median,
      pytorch_step_ms: t.step_ms[0]!,
    };
  } catch (err) {
    o.log(`PyTorch full-size step failed: ${(err as Error).message}`);
  }
}

/** The engine's time per step with graphs answering at once: at the model's grid and at 1024 px. */
export async function engineOverhead(c: BenchCase, ctx: BenchContext): Promise<void> {
  const { o, measured } = ctx;
  o.log('engine time per step without graphs…');
  const cfg = manifestOf(c.model)?.config;
  const geo = cfg?.resolutions[String(cfg.resolution)];
  const small =
    cfg && geo
      ? await engineStepCost(
          {
            resolution: cfg.resolution,
            tokenGrid: geo.token_grid[0],
            attentionGrid: geo.transformer_grid[0],
            codebookSize: cfg.codebook_size,
          },
          o.steps,
        )
      : null;
  const big = await engineStepCost(GEOMETRY_1024, o.quick ? 4 : 16);
  const full = measured.runs.find((r) => r.model === 'fullsize-random' && r.status === 'ok');
  measured.engine_overhead = {
    model:
      small && geo
        ? {
            tokens: geo.token_grid[0] * geo.token_grid[1],
            engine_ms_per_step: small.engine_ms_per_step,
            engine_ms_per_step_p90: small.engine_ms_per_step_p90,
          }
        : null,
    at_1024: {
      engine_ms_per_step: big.engine_ms_per_step,
      engine_ms_per_step_p90: big.engine_ms_per_step_p90,
    },
    pct_of_fullsize_step: full?.step_ms_median ? (100 * big.engine_ms_per_step) / full.step_ms_median : null,
  };
}
