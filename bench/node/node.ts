/**
 * The node half of the benchmark: one model package × dtype on onnxruntime-node (CPU), opened
 * through `Editor.open` as the app's worker opens it, with the package's default settings. Opens the package (cold), runs a warm-up edit (its first run
 * of each graph creates the session: that belongs to loading), then a measured edit, then opens
 * the package again (cached). A TimedRunner around the package's runner splits the measured edit
 * into graph time and engine time.
 */
import { readFileSync } from 'node:fs';
import { packageEditOptions } from '../../src/engine/index';
import type { GraphName } from '../../src/engine/index';
import { cpuOptions, Editor, packageSource } from '../../src/engine/runtime/node/index';
import type { OrtNodeRunner } from '../../src/engine/runtime/node/index';
import { benchImage } from '../benchImage';
import { deltas, fnv1a, median, overheadPct, quantile, readbackAt, sum } from '../report/stats';
import { TimedRunner } from './timedRunner';
import type { BenchRun } from '../report/types';
import { emptyRun } from '../report/types';

export interface NodeBenchOptions {
  modelDir: string;
  dtype: string;
  steps: number;
  warmSteps: number;
  /** intra-op threads (0 = onnxruntime's default: one per core) */
  threads: number;
  prompt: string;
  warmPrompt: string;
}

export const PROMPTS = { prompt: 'make the red disc blue', warmPrompt: 'warm up the kernels' } as const;

/** Opens the package and creates every session (through a 1-step edit); returns the ms taken. */
async function load(dir: string, dtype: string) {
  const t = performance.now();
  let runner: TimedRunner | undefined;
  const pkg: Editor<OrtNodeRunner> = await Editor.open(
    packageSource(dir),
    cpuOptions(dtype, {
      now: () => performance.now(),
      // the engine runs on the timed runner; the graphs' own run times come from the package's
      wrapRunner: (inner) => (runner = new TimedRunner(inner, (g) => pkg.runner.lastRunMs.get(g))),
    }),
  );
  const openMs = performance.now() - t;
  return { pkg, runner: runner!, engine: pkg.engine, openMs };
}

/** Peak resident memory of this process so far (Linux), else null. */
export function peakRssBytes(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export async function benchNode(o: NodeBenchOptions): Promise<BenchRun> {
  if (o.threads > 0) process.env['ORT_THREADS'] = String(o.threads);
  const cold = await load(o.modelDir, o.dtype);
  const { pkg, runner, engine } = cold;
  const size = pkg.spec.width;
  // the package's own defaults, as the app's worker edits with them (not the engine's fallbacks)
  const settings = packageEditOptions(pkg.manifest);
  await engine.edit({
    image: benchImage(size),
    prompt: o.warmPrompt,
    ...settings,
    steps: o.warmSteps,
    seed: 1,
  });
  const loadColdMs = cold.openMs + runner.firstRunSetupMs();
  runner.log.length = 0;

  // Measured: a new image object and a new prompt, so VQ-encode and text-encode both run.
  const stepAt: number[] = [];
  const t = performance.now();
  let last: Int32Array | null = null;
  const result = await engine.edit(
    { image: benchImage(size), prompt: o.prompt, ...settings, steps: o.steps, seed: 1 },
    {
      onStep: (e) => {
        stepAt.push(performance.now());
        last = e.tokens;
      },
    },
  );
  const editMs = performance.now() - t;
  const stepRuns = runner.runs('transformer_step');
  const runMs = (g: GraphName) => sum(runner.runs(g).map((r) => r.end - r.start));
  // Step i ≥ 1 spans the previous step event to its own; step 0 also carries the encoders.
  const stepMs = deltas(stepAt);
  const steady = stepMs.length ? stepMs : [stepRuns[0]!.end - stepRuns[0]!.start];
  await pkg.runner.release();

  const cached = await load(o.modelDir, o.dtype);
  await cached.engine.edit({ image: benchImage(size), prompt: o.warmPrompt, ...settings, steps: 1, seed: 1 });
  const loadCachedMs = cached.openMs + cached.runner.firstRunSetupMs();
  await cached.pkg.runner.release();

  const run = emptyRun('node-cpu', pkg.manifest.name, pkg.dtype, o.threads, o.steps, 'ok');
  return {
    ...run,
    load_cold_ms: loadColdMs,
    load_cached_ms: loadCachedMs,
    text_encode_ms: runMs('text_llm') + runMs('text_clip'),
    vq_encode_ms: runMs('vq_encode'),
    step_ms_median: median(steady),
    step_ms_p90: quantile(steady, 0.9),
    decode_ms: runMs('vq_decode'),
    edit_ms: editMs,
    first_step_ms: stepAt[0]! - t,
    readback_bytes_per_step: stepRuns[0]!.bytes,
    readback_bytes_per_step_1024: readbackAt({ h: 64, w: 64 }, { h: 32, w: 32 }),
    peak_rss_bytes: peakRssBytes(),
    overhead_pct: stepMs.length
      ? overheadPct(
          stepMs,
          stepRuns.slice(1).map((r) => r.end - r.start),
        )
      : null,
    settings: {
      guidance: settings.guidance,
      reference_strength: settings.referenceStrength,
      hold: settings.hold,
    },
    tokens_hash: last ? fnv1a(new Uint8Array((last as Int32Array).buffer)) : '',
    ...(result.warnings.length ? { note: result.warnings.join('; ') } : {}),
  };
}
