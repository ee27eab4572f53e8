/**
 * The quality phases: what the original-pixel composite buys on real photos, and the shapes
 * model's evaluation on its test pairs — both through the engine on onnxruntime-node, with the
 * package's default settings.
 */
import { existsSync } from 'node:fs';
import { cpuOptions, Editor, packageSource } from '../../src/engine/runtime/node/index';
import type { BenchCase } from '../cases';
import { compositePsnr, PHOTOS } from '../node/compositePsnr';
import { evaluatePair, loadTestset, packageEvalOptions, report, SHAPES_TESTSET } from '../node/evalShapes';
import type { BenchContext } from './context';
import { modelDir } from './context';

/** Test pairs of the report's shapes evaluation (the quick evaluation's four: add, remove, replace, attribute). */
export const SHAPES_EVAL_PAIRS = 4;

export async function compositePsnrPhase(c: BenchCase, ctx: BenchContext): Promise<void> {
  const { o } = ctx;
  const photos = PHOTOS.filter((p) => existsSync(p)).slice(0, o.quick ? 1 : undefined);
  o.log(`composite PSNR on ${photos.length} photo(s), ${c.model} ${c.dtype}…`);
  try {
    ctx.measured.composite_psnr.push(...(await compositePsnr(modelDir(c.model), c.dtype, photos, o.steps)));
  } catch (err) {
    o.log(`composite PSNR failed: ${(err as Error).message}`);
  }
}

export async function shapesEval(c: BenchCase, ctx: BenchContext): Promise<void> {
  const { o } = ctx;
  if (!existsSync(`${SHAPES_TESTSET}/index.json`)) {
    o.log(`shapes evaluation: no test set in ${SHAPES_TESTSET}`);
    return;
  }
  o.log(`shapes evaluation on ${SHAPES_EVAL_PAIRS} test pairs, ${c.dtype}…`);
  const pkg = await Editor.open(
    packageSource(modelDir(c.model)),
    cpuOptions(c.dtype, { now: () => performance.now() }),
  );
  try {
    const opts = packageEvalOptions(pkg.manifest);
    const { engine } = pkg;
    const pairs = loadTestset(SHAPES_TESTSET, SHAPES_EVAL_PAIRS);
    const rows = [];
    const t = performance.now();
    for (const [i, pair] of pairs.entries()) rows.push(await evaluatePair(engine, pkg, pair, i, opts));
    ctx.measured.shapes_eval = {
      model: pkg.manifest.name,
      dtype: pkg.dtype,
      settings: {
        steps: opts.steps,
        guidance: opts.guidance,
        reference_strength: opts.referenceStrength,
        hold: opts.defaultLambda,
        app_hold: opts.appLambda,
      },
      seconds: (performance.now() - t) / 1000,
      overall: report(rows, opts.lambdas, opts.defaultLambda, opts.appLambda).overall,
    };
  } catch (err) {
    o.log(`shapes evaluation failed: ${(err as Error).message}`);
  } finally {
    await pkg.runner.release();
  }
}
