/**
 * npm run eval:shapes -- [--model DIR] [--dtype D] [--testset DIR] [--limit N] [--steps N]
 *   [--guidance G] [--reference-strength S] [--lambdas 0,0.05,…] [--json FILE] [--images DIR] [--quiet]
 * (unset settings take the package's defaults)
 * Evaluates the shapes model through the engine on onnxruntime-node, on shapes-world test pairs
 * (index.json + source/target/mask PNGs, as tools/shapes writes them):
 *  - edit fidelity: PSNR(result, target) inside the true edit region;
 *  - preservation: PSNR(result, target) outside it, with region-hold off, at each λ of a sweep,
 *    and with the original-pixel composite;
 *  - localisation: IoU of the thresholded step-averaged attention map (region-hold off) with
 *    the true region.
 * Every λ of a pair uses the same seed, so the runs differ only by region-hold. Per-pair PSNRs
 * are clipped at PSNR_CAP (a composite can reproduce the outside exactly) and then averaged.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultHold, packageEditOptions, psnr } from '../../src/engine/index';
import type { EditEngine, Manifest, RgbaImage } from '../../src/engine/index';
import { cpuOptions, Editor, packageSource } from '../../src/engine/runtime/node/index';
import type { OrtNodeRunner } from '../../src/engine/runtime/node/index';
import { cellMaskToPixels, compositeUnchanged, resizeImage } from '../../src/engine/internal';
import { decodeImage, encodeImage } from '../../cli/imageIO';

export const SHAPES_MODEL = 'public/models/shapes';
export const SHAPES_TESTSET = 'tools/shapes/testset';
export const PSNR_CAP = 60;
/** attention above this (of its range) counts as "where the instruction acts" */
export const ATTENTION_THRESHOLD = 0.5;
export const DEFAULT_SWEEP = [0, 0.02, 0.05, 0.1, 0.2, 0.3];

export interface TestPair {
  id: string;
  kind: string;
  instruction: string;
  source: RgbaImage;
  target: RgbaImage;
  /** [H·W] 1 inside the true edit region */
  mask: Uint8Array;
}

export function loadTestset(dir: string, limit?: number): TestPair[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
    pairs: { id: string; kind: string; instruction: string; source: string; target: string; mask: string }[];
  };
  return index.pairs.slice(0, limit ?? index.pairs.length).map((e) => {
    const img = (f: string) => decodeImage(readFileSync(join(dir, f)), f);
    const m = img(e.mask);
    const mask = new Uint8Array(m.width * m.height);
    for (let i = 0; i < mask.length; i++) mask[i] = m.data[i * 4]! > 127 ? 1 : 0;
    return {
      id: e.id,
      kind: e.kind,
      instruction: e.instruction,
      source: img(e.source),
      target: img(e.target),
      mask,
    };
  });
}

/** PSNR over a pixel mask, clipped at PSNR_CAP; null when the mask is empty. */
export function regionPsnr(a: RgbaImage, b: RgbaImage, include: Uint8Array): number | null {
  if (!include.some((v) => v)) return null;
  return Math.min(PSNR_CAP, psnr(a, b, include));
}

export function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i]! & b[i]!;
    union += a[i]! | b[i]!;
  }
  return union === 0 ? 1 : inter / union;
}

/** Mean of the per-step maps, rescaled to [0, 1], thresholded; as a pixel mask [H·W]. */
export function attentionRegion(
  maps: Float32Array[],
  gridH: number,
  gridW: number,
  W: number,
  H: number,
  threshold = ATTENTION_THRESHOLD,
) {
  const mean = new Float32Array(gridH * gridW);
  for (const m of maps) for (let i = 0; i < mean.length; i++) mean[i]! += m[i]! / maps.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of mean) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const scaled = mean.map((v) => (v - lo) / (hi - lo + 1e-8));
  const cells = Uint8Array.from(scaled, (v) => (v >= threshold ? 1 : 0));
  return { scaled, pixels: cellMaskToPixels(cells, gridH, gridW, W, H) };
}

export interface LambdaRun {
  lambda: number;
  edit_psnr: number | null;
  edit_psnr_composite: number | null;
  psnr_outside: number | null;
  psnr_outside_composite: number | null;
}

export interface PairResult {
  id: string;
  kind: string;
  instruction: string;
  /** PSNR(source, target) inside: what doing nothing scores */
  source_edit_psnr: number | null;
  /** PSNR(VQ round trip of the source, target) outside: preservation without compositing can hardly beat it */
  vq_outside_ceiling: number | null;
  localisation_iou: number;
  runs: LambdaRun[];
}

export interface EvalOptions {
  steps: number;
  guidance: number;
  referenceStrength: number;
  lambdas: number[];
  seedBase?: number;
  /** write <id>_result.png (the app's output: λ = appLambda, composited), <id>_attention.png here */
  imagesDir?: string;
  /** the package's region-hold λ ("hold" in the report) */
  defaultLambda: number;
  /** the λ the app uses by default: the package's λ when its defaults turn region-hold on, else 0 */
  appLambda: number;
}

/**
 * The evaluation's settings when none are named: the package's defaults (packageEditOptions, as
 * every edit of the app uses them); "hold" is the package's λ, the app's λ is defaultHold's.
 */
export function packageEvalOptions(m: Manifest): Omit<EvalOptions, 'imagesDir'> {
  const d = packageEditOptions(m);
  const defaultLambda = m.defaults.region_hold_lambda;
  return {
    steps: d.steps,
    guidance: d.guidance,
    referenceStrength: d.referenceStrength,
    lambdas: [...new Set([0, defaultLambda])].sort((a, b) => a - b),
    defaultLambda,
    appLambda: defaultHold(m.defaults),
  };
}

export async function evaluatePair(
  engine: EditEngine,
  pkg: Editor<OrtNodeRunner>,
  pair: TestPair,
  index: number,
  o: EvalOptions,
): Promise<PairResult> {
  const { h, w } = pkg.spec.tokenGrid;
  const { width: W, height: H } = pair.source;
  const inside = pair.mask;
  const outside = inside.map((v) => 1 - v);
  const seed = (o.seedBase ?? 1000) + index;
  const runs: LambdaRun[] = [];
  let maps: Float32Array[] = [];
  const roundTrip = resizeImage(await engine.decode(await engine.sourceTokens(pair.source)), W, H);
  for (const lambda of o.lambdas) {
    const stepMaps: Float32Array[] = [];
    const r = await engine.edit(
      {
        image: pair.source,
        prompt: pair.instruction,
        steps: o.steps,
        seed,
        guidance: o.guidance,
        referenceStrength: o.referenceStrength,
        hold: lambda,
        composite: false,
      },
      { onStep: (e) => stepMaps.push(Float32Array.from(e.attention)) },
    );
    if (lambda === 0) maps = stepMaps;
    const changed = Uint8Array.from(r.tokens, (t, i) => (t !== r.sourceTokens[i] ? 1 : 0));
    const composite = compositeUnchanged({
      original: pair.source,
      edited: r.image,
      changed,
      gridH: h,
      gridW: w,
    }).image;
    runs.push({
      lambda,
      edit_psnr: regionPsnr(r.image, pair.target, inside),
      edit_psnr_composite: regionPsnr(composite, pair.target, inside),
      psnr_outside: regionPsnr(r.image, pair.target, outside),
      psnr_outside_composite: regionPsnr(composite, pair.target, outside),
    });
    if (o.imagesDir && lambda === o.appLambda)
      writeFileSync(join(o.imagesDir, `${pair.id}_result.png`), encodeImage(composite, '.png'));
  }
  const region = attentionRegion(maps, h, w, W, H);
  if (o.imagesDir)
    writeFileSync(
      join(o.imagesDir, `${pair.id}_attention.png`),
      encodeImage(heatmap(region.scaled, h, w, W, H), '.png'),
    );
  return {
    id: pair.id,
    kind: pair.kind,
    instruction: pair.instruction,
    source_edit_psnr: regionPsnr(pair.source, pair.target, inside),
    vq_outside_ceiling: regionPsnr(roundTrip, pair.target, outside),
    localisation_iou: iou(region.pixels, inside),
    runs,
  };
}

/** A [gridH·gridW] map in [0, 1] as a W×H image (black → red → yellow → white, nearest cells). */
export function heatmap(map: Float32Array, gridH: number, gridW: number, W: number, H: number): RgbaImage {
  const data = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v =
        map[
          Math.min(gridH - 1, Math.floor((y * gridH) / H)) * gridW +
            Math.min(gridW - 1, Math.floor((x * gridW) / W))
        ]!;
      data.set(
        [
          255 * Math.min(1, 3 * v),
          255 * Math.min(1, Math.max(0, 3 * v - 1)),
          255 * Math.max(0, 3 * v - 2),
          255,
        ],
        (y * W + x) * 4,
      );
    }
  }
  return { width: W, height: H, data };
}

function mean(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? round(v.reduce((a, b) => a + b, 0) / v.length) : null;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export interface Summary {
  /** the app's output (at its default λ, composited), inside the region */
  edit_psnr: number | null;
  edit_psnr_nohold: number | null;
  edit_psnr_hold: number | null;
  source_edit_psnr: number | null;
  psnr_outside_hold: number | null;
  psnr_outside_nohold: number | null;
  psnr_outside_hold_composite: number | null;
  /** the app's output, outside the region */
  psnr_outside_app: number | null;
  vq_outside_ceiling: number | null;
  localisation_iou: number | null;
  n: number;
}

/**
 * Means over pairs; "hold" is the package's λ, "nohold" λ = 0; edit_psnr and psnr_outside_app are
 * the app's output (its default λ, then the original-pixel composite).
 */
export function summarise(rows: PairResult[], defaultLambda: number, appLambda = defaultLambda): Summary {
  const at = (r: PairResult, l: number) => r.runs.find((x) => x.lambda === l)!;
  return {
    edit_psnr: mean(rows.map((r) => at(r, appLambda).edit_psnr_composite)),
    edit_psnr_nohold: mean(rows.map((r) => at(r, 0).edit_psnr)),
    edit_psnr_hold: mean(rows.map((r) => at(r, defaultLambda).edit_psnr)),
    source_edit_psnr: mean(rows.map((r) => r.source_edit_psnr)),
    psnr_outside_hold: mean(rows.map((r) => at(r, defaultLambda).psnr_outside)),
    psnr_outside_nohold: mean(rows.map((r) => at(r, 0).psnr_outside)),
    psnr_outside_hold_composite: mean(rows.map((r) => at(r, defaultLambda).psnr_outside_composite)),
    psnr_outside_app: mean(rows.map((r) => at(r, appLambda).psnr_outside_composite)),
    vq_outside_ceiling: mean(rows.map((r) => r.vq_outside_ceiling)),
    localisation_iou: mean(rows.map((r) => r.localisation_iou)),
    n: rows.length,
  };
}

export function lambdaSweep(rows: PairResult[], lambdas: number[]) {
  return lambdas.map((lambda) => {
    const runs = rows.map((r) => r.runs.find((x) => x.lambda === lambda)!);
    return {
      lambda,
      edit_psnr: mean(runs.map((x) => x.edit_psnr)),
      edit_psnr_composite: mean(runs.map((x) => x.edit_psnr_composite)),
      psnr_outside: mean(runs.map((x) => x.psnr_outside)),
      psnr_outside_composite: mean(runs.map((x) => x.psnr_outside_composite)),
      // pairs that have an outside region, with it better / worse with hold than without
      outside_better: lambda === 0 ? null : rows.filter((r) => cmp(r, lambda) > 0).length,
      outside_worse: lambda === 0 ? null : rows.filter((r) => cmp(r, lambda) < 0).length,
    };
  });
}

function cmp(r: PairResult, lambda: number): number {
  const a = r.runs.find((x) => x.lambda === lambda)!.psnr_outside;
  const b = r.runs.find((x) => x.lambda === 0)!.psnr_outside;
  return a === null || b === null ? 0 : Math.sign(round(a - b));
}

export function report(
  rows: PairResult[],
  lambdas: number[],
  defaultLambda: number,
  appLambda = defaultLambda,
) {
  const kinds = [...new Set(rows.map((r) => r.kind))];
  return {
    overall: summarise(rows, defaultLambda, appLambda),
    per_kind: Object.fromEntries(
      kinds.map((k) => [
        k,
        summarise(
          rows.filter((r) => r.kind === k),
          defaultLambda,
          appLambda,
        ),
      ]),
    ),
    lambda_sweep: lambdaSweep(rows, lambdas),
  };
}

const fmt = (v: number | null, width = 8) => (v === null ? '—' : v.toFixed(2)).padStart(width);

export function table(
  rep: ReturnType<typeof report>,
  defaultLambda: number,
  appLambda = defaultLambda,
): string {
  const lines = [
    `PSNR dB (per-pair, capped at ${PSNR_CAP}); hold = region-hold λ ${defaultLambda}; comp = original-pixel composite; ` +
      `app = the app's default (${appLambda > 0 ? `region-hold λ ${appLambda}` : 'region-hold off'}, composite)`,
    'kind            n  edit:none  edit:off  edit:hold  edit:app   out:off  out:hold  out:comp   out:app  out:VQ    IoU',
  ];
  const row = (name: string, s: Summary) =>
    `${name.padEnd(14)}${String(s.n).padStart(3)}${fmt(s.source_edit_psnr, 11)}${fmt(s.edit_psnr_nohold, 10)}${fmt(s.edit_psnr_hold, 11)}${fmt(s.edit_psnr, 10)}` +
    `${fmt(s.psnr_outside_nohold, 10)}${fmt(s.psnr_outside_hold, 10)}${fmt(s.psnr_outside_hold_composite, 10)}${fmt(s.psnr_outside_app, 10)}${fmt(s.vq_outside_ceiling, 8)}${fmt(s.localisation_iou, 7)}`;
  for (const [k, s] of Object.entries(rep.per_kind)) lines.push(row(k, s));
  lines.push(
    row('overall', rep.overall),
    '',
    'λ sweep      edit   edit:comp  outside  out:comp  better/worse outside than λ=0',
  );
  for (const s of rep.lambda_sweep) {
    lines.push(
      `${s.lambda.toFixed(2).padStart(6)}${fmt(s.edit_psnr, 10)}${fmt(s.edit_psnr_composite, 11)}${fmt(s.psnr_outside, 9)}${fmt(s.psnr_outside_composite, 10)}  ${s.outside_better === null ? '' : `${s.outside_better}/${s.outside_worse}`}`,
    );
  }
  return lines.join('\n');
}

export async function main(
  argv: string[],
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: SHAPES_MODEL },
      dtype: { type: 'string' },
      testset: { type: 'string', default: SHAPES_TESTSET },
      limit: { type: 'string' },
      steps: { type: 'string' },
      guidance: { type: 'string' },
      'reference-strength': { type: 'string' },
      lambdas: { type: 'string' },
      json: { type: 'string' },
      images: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const pkg = await Editor.open(
    packageSource(values.model),
    cpuOptions(values.dtype, { now: () => performance.now() }),
  );
  try {
    const defaults = packageEvalOptions(pkg.manifest);
    const sweep = values.lambdas ? values.lambdas.split(',').map(Number) : DEFAULT_SWEEP;
    const lambdas = [...new Set([0, ...sweep, defaults.defaultLambda])].sort((a, b) => a - b);
    const { defaultLambda, appLambda } = defaults;
    const pairs = loadTestset(values.testset, values.limit ? Number(values.limit) : undefined);
    const opts: EvalOptions = {
      ...defaults,
      ...(values.steps ? { steps: Number(values.steps) } : {}),
      ...(values.guidance ? { guidance: Number(values.guidance) } : {}),
      ...(values['reference-strength'] ? { referenceStrength: Number(values['reference-strength']) } : {}),
      lambdas,
      imagesDir: values.images,
    };
    if (opts.imagesDir) mkdirSync(opts.imagesDir, { recursive: true });
    const { engine } = pkg;
    const rows: PairResult[] = [];
    const t0 = performance.now();
    for (const [i, pair] of pairs.entries()) {
      rows.push(await evaluatePair(engine, pkg, pair, i, opts));
      if (!values.quiet) log(`${i + 1}/${pairs.length} ${pair.id} ${pair.kind}: "${pair.instruction}"`);
    }
    const rep = report(rows, lambdas, defaultLambda, appLambda);
    process.stdout.write(`${table(rep, defaultLambda, appLambda)}\n`);
    if (values.json) {
      const settings = {
        model: values.model,
        dtype: pkg.dtype,
        testset: values.testset,
        ...opts,
        imagesDir: undefined,
        psnr_cap: PSNR_CAP,
        attention_threshold: ATTENTION_THRESHOLD,
      };
      writeFileSync(
        values.json,
        `${JSON.stringify({ ...rep, settings, seconds: round((performance.now() - t0) / 1000), pairs: rows }, null, 1)}\n`,
      );
    }
    return 0;
  } finally {
    await pkg.runner.release();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
