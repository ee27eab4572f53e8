/**
 * One transformer step of the full-size architecture (random weights) on onnxruntime-node, when
 * the exporter's `fullsize` command has left a package in its work folder. Only the step graph is
 * needed: its inputs are built from the manifest's shapes (all cells masked, text zeros), which
 * costs the same FLOPs as a real step.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OrtNodeRunner } from '../../cli/ortNodeRunner';
import type { AnyTensor } from '../../src/engine/tensor';
import { peakRssBytes } from './node';
import { readbackAt } from './stats';
import type { BenchRun } from './types';
import { emptyRun } from './types';

export const FULLSIZE_DIR = process.env['EDITMGT_FULLSIZE'] ?? 'tools/export/.cache/fullsize';

interface IoDesc {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

/** The package folder inside the work folder (the folder itself or one level down), if built. */
export function findFullsize(dir = FULLSIZE_DIR): string | null {
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  for (const sub of ['package', 'fullsize-random']) if (existsSync(join(dir, sub, 'manifest.json'))) return join(dir, sub);
  return null;
}

export async function benchFullsizeStep(dtype: string, threads: number): Promise<BenchRun> {
  const dir = findFullsize();
  if (!dir) {
    const why = existsSync(FULLSIZE_DIR)
      ? `no package yet in ${FULLSIZE_DIR} (the exporter's fullsize run is still building or converting it)`
      : `not built (tools/export: python -m editmgt_export fullsize)`;
    return emptyRun('node-cpu', 'fullsize-random', dtype, threads, 1, why);
  }
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    dtypes: Record<string, { graphs: Record<string, { file: string }> }>;
    graphs: Record<string, { inputs: IoDesc[] }>;
    config: { mask_token_id: number };
  };
  const file = m.dtypes[dtype]?.graphs['transformer_step']?.file;
  if (!file) return emptyRun('node-cpu', 'fullsize-random', dtype, threads, 1, `no ${dtype} graphs`);
  const feeds: Record<string, AnyTensor> = {};
  for (const io of m.graphs['transformer_step']!.inputs) {
    const dims = io.shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[io.name] = io.dtype === 'int32'
      ? { type: 'int32', data: new Int32Array(n).fill(io.name === 'tokens' ? m.config.mask_token_id : 0), dims }
      : { type: 'float32', data: new Float32Array(n).fill(io.name === 'text_weights' || io.name === 'guidance_scale' ? 1 : 0.5), dims };
  }
  const runner = new OrtNodeRunner({ files: { transformer_step: join(dir, file) }, intraOpThreads: threads });
  const t = performance.now();
  const out = await runner.run('transformer_step', feeds);
  const firstMs = performance.now() - t;
  const stepMs = runner.lastRunMs.get('transformer_step')!;
  await runner.release();
  const bytes = Object.values(out).reduce((s, v) => s + v.data.byteLength, 0);
  return {
    ...emptyRun('node-cpu', 'fullsize-random', dtype, threads, 1, 'ok'),
    load_cold_ms: firstMs - stepMs,
    step_ms_median: stepMs,
    step_ms_p90: stepMs,
    readback_bytes_per_step: bytes,
    readback_bytes_per_step_1024: readbackAt({ h: 64, w: 64 }, { h: 32, w: 32 }),
    peak_rss_bytes: peakRssBytes(),
    note: 'one step graph run (the first, so it includes first-run allocation); no text encoders',
  };
}
