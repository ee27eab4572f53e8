/**
 * The phases that need the exporter's Python venv: FLOPs and the matmul peak, and the PyTorch
 * reference edit alternating with the same edit on onnxruntime-node.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageEditOptions } from '../../src/engine/index';
import type { BenchCase } from '../cases';
import { PROMPTS } from '../node/node';
import { pythonAvailable, runPython } from '../python/runPython';
import type { Reference } from '../report/types';
import type { BenchContext } from './context';
import { CACHE, manifestOf, modelDir } from './context';
import { runNodeCase } from './edits';

export const SHAPES_CHECKPOINT = 'tools/shapes/.work/checkpoint';

/** FLOPs of every step graph the plan times, and the CPU's matmul peak, in one Python process. */
export async function pythonMeasures(_c: BenchCase, ctx: BenchContext): Promise<void> {
  const { o } = ctx;
  if (!pythonAvailable()) {
    o.log('no Python venv (npm run export:setup): no reference, FLOPs or matmul peak');
    return;
  }
  const timed = ctx.plan.filter((c) => (c.kind === 'node-edit' || c.kind === 'browser-edit') && c.model);
  const graphs = [...new Set(timed.map((c) => join(modelDir(c.model), c.dtype, 'transformer_step.onnx')))];
  const anyModel = ctx.o.models[0] ?? 'tiny-random';
  o.log('python: FLOPs, matmul peak…');
  try {
    ctx.python = runPython(
      'reference.py',
      [
        '--package',
        modelDir(anyModel),
        '--threads',
        String(o.threads),
        '--no-reference',
        '--peak-seconds',
        o.quick ? '0.3' : '1',
        '--flops',
        ...graphs,
      ],
      10 * 60_000,
    );
    ctx.machine.matmul_peak_gflops_per_s = ctx.python.matmul_peak?.gflops_per_s ?? null;
    ctx.machine.matmul_peak_threads = ctx.python.matmul_peak?.threads ?? o.threads;
  } catch (err) {
    o.log(`python part failed: ${(err as Error).message}`);
  }
}

/** reference.py's flags for the edit settings: the package's defaults, as the node edit uses them. */
export function referenceSettingsArgs(model: string): string[] {
  const m = manifestOf(model);
  if (!m) return [];
  const s = packageEditOptions(m);
  return [
    '--guidance',
    String(s.guidance),
    '--reference-strength',
    String(s.referenceStrength),
    '--hold',
    String(s.hold),
    '--negative-prompt',
    s.negativePrompt,
  ];
}

/**
 * node-cpu and PyTorch edits of the same model, alternating, so that both halves of each
 * node_vs_pytorch ratio see the same load on a shared machine.
 */
export async function referenceRounds(c: BenchCase, ctx: BenchContext): Promise<void> {
  const { o, measured } = ctx;
  if (!pythonAvailable()) return;
  const args = [
    '--package',
    modelDir(c.model),
    '--threads',
    String(o.threads),
    '--steps',
    String(o.steps),
    '--warm-steps',
    String(o.warmSteps),
    '--prompt',
    PROMPTS.prompt,
    '--warm-prompt',
    PROMPTS.warmPrompt,
    ...referenceSettingsArgs(c.model),
  ];
  if (c.model === 'shapes') args.push('--checkpoint', SHAPES_CHECKPOINT);
  else args.push('--tiny-cache', resolve(CACHE));
  let ortPython: Reference['ort_python'];
  for (let round = 0; round < o.referenceRounds; round++) {
    o.log(`PyTorch reference vs node-cpu on ${c.model}, round ${round + 1}/${o.referenceRounds}…`);
    try {
      const node = await runNodeCase(ctx, c.model, c.dtype);
      const ref = runPython(
        'reference.py',
        round === 0 && !o.quick ? [...args, '--ort'] : args,
        30 * 60_000,
      ) as unknown as Reference;
      ortPython ??= ref.ort_python;
      measured.reference = { ...ref, ...(ortPython ? { ort_python: ortPython } : {}) };
      if (node.edit_ms) {
        measured.ratio_pairs.node_vs_pytorch.push({
          node_edit_ms: node.edit_ms,
          pytorch_edit_ms: ref.edit_ms,
          node_step_ms: node.step_ms_median,
          pytorch_step_ms: ref.step_ms_median,
        });
      }
    } catch (err) {
      o.log(`reference round failed: ${(err as Error).message}`);
    }
  }
}

export function shapesCheckpointHere(): boolean {
  return existsSync(SHAPES_CHECKPOINT);
}
