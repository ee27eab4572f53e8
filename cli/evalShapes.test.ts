/**
 * Quick evaluation of the shipped shapes model on four fixed test pairs (add, remove, replace,
 * attribute; tools/shapes/testset), region-hold off and at the package's λ, through the engine
 * on onnxruntime-node. The bars sit below the numbers the shipped model measures on these pairs
 * (docs/shapes.md), and above what an edit that does nothing, or wrecks the picture, scores.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EditEngine } from '../src/engine/pipeline';
import { evaluatePair, iou, loadTestset, report, SHAPES_MODEL, SHAPES_TESTSET } from './evalShapes';
import type { PairResult } from './evalShapes';
import { openPackage } from './modelPackage';
import type { OpenPackage } from './modelPackage';
import { REPO } from './testModel';

const MODEL = `${REPO}${SHAPES_MODEL}`;
const hasShapes = existsSync(`${MODEL}/manifest.json`);

// Measured on these 4 pairs (fp32, package defaults, seeds 1000..1003): outside with hold +
// composite 22.19 dB (the VQ round trip of the source scores 22.16; a wrecked picture ~10);
// inside, the app's output 13.30 dB vs 9.48 for the unedited source (+3.8, mostly the removal);
// outside without composite 20.03 with region-hold vs 19.32 without. Attention IoU is 0.00 on
// these pairs (the maps do not localise yet, docs/shapes.md), so it has no bar.
const BARS = {
  /** mean PSNR outside the true region of the app's output (hold + composite) */
  outsideComposite: 20,
  /** mean inside-region PSNR of the app's output minus that of doing nothing (the source) */
  editGain: 2,
  /** region-hold's preservation gain outside (no composite), dB; measured +0.71 */
  holdGain: 0,
};

describe.skipIf(!hasShapes)('shapes model, quick evaluation', () => {
  let pkg: OpenPackage;
  let rows: PairResult[];
  let lambda: number;
  beforeAll(async () => {
    pkg = await openPackage(MODEL, 'fp32');
    const d = pkg.manifest.defaults!;
    lambda = d.region_hold_lambda;
    const engine = new EditEngine({ runner: pkg.runner, tokenizers: pkg.tokenizers, spec: pkg.spec });
    const pairs = loadTestset(`${REPO}${SHAPES_TESTSET}`, 4);
    const opts = {
      steps: d.steps,
      guidance: d.guidance_scale,
      referenceStrength: d.reference_strength,
      lambdas: [0, lambda],
      defaultLambda: lambda,
    };
    rows = [];
    for (const [i, p] of pairs.entries()) rows.push(await evaluatePair(engine, pkg, p, i, opts));
  }, 120_000);
  afterAll(async () => pkg?.runner.release());

  it('edits inside the region and preserves outside it; region-hold does not lose preservation', () => {
    const { overall } = report(rows, [0, lambda], lambda);
    console.log(JSON.stringify(overall));
    expect(overall.n).toBe(4);
    expect(overall.psnr_outside_hold_composite!).toBeGreaterThanOrEqual(BARS.outsideComposite);
    expect(overall.edit_psnr! - overall.source_edit_psnr!).toBeGreaterThanOrEqual(BARS.editGain);
    expect(overall.psnr_outside_hold! - overall.psnr_outside_nohold!).toBeGreaterThanOrEqual(BARS.holdGain);
    expect(overall.localisation_iou).not.toBeNull();
  });

  it('iou counts overlap over union', () => {
    expect(iou(Uint8Array.of(1, 1, 0, 0), Uint8Array.of(0, 1, 1, 0))).toBeCloseTo(1 / 3);
  });
});
