/**
 * One transformer step of the full-size architecture (random weights) on onnxruntime-node, when
 * the exporter's `fullsize` command has left a package in its work folder (or, before `convert`
 * has packaged it, its exported fp32 graphs). Only the step graph is
 * needed: its inputs are built from the manifest's shapes (all cells masked, text zeros), which
 * costs the same FLOPs as a real step.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyTensor, Dtype } from '../../src/engine/index';
import { OrtNodeRunner, readManifest } from '../../src/engine/runtime/node/index';
import { peakRssBytes } from './node';
import { pythonAvailable, runPython } from '../python/runPython';
import { readbackAt } from '../report/stats';
import type { BenchRun } from '../report/types';
import { emptyRun } from '../report/types';

export const FULLSIZE_DIR = process.env['EDITMGT_FULLSIZE'] ?? 'tools/export/.cache/fullsize';

interface IoDesc {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

/** The package folder inside the work folder (the folder itself or one level down), if built. */
export function findFullsize(dir = FULLSIZE_DIR): string | null {
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  for (const sub of ['package', 'fullsize-random'])
    if (existsSync(join(dir, sub, 'manifest.json'))) return join(dir, sub);
  return null;
}

/** The exported fp32 graphs before `convert` has packaged them (the exporter marks them complete). */
function exportedGraphs(dir = FULLSIZE_DIR): string | null {
  const graph = join(dir, 'fp32', 'transformer_step.onnx');
  return existsSync(join(dir, 'fp32', 'complete.json')) && existsSync(graph) ? graph : null;
}

export function fullsizeAvailable(): boolean {
  return findFullsize() !== null || exportedGraphs() !== null;
}

/** The step graph's file, its inputs and the mask id: from the manifest, or from the graph and checkpoint config. */
function stepGraph(dtype: string): { file: string; inputs: IoDesc[]; maskId: number } | string {
  const dir = findFullsize();
  if (dir) {
    const m = readManifest(dir);
    const file = m.dtypes[dtype as Dtype]?.graphs.transformer_step.file;
    if (!file) return `no ${dtype} graphs`;
    return {
      file: join(dir, file),
      inputs: m.graphs.transformer_step.inputs.map((t) => ({ ...t, shape: [...t.shape] })),
      maskId: m.config.mask_token_id,
    };
  }
  const graph = exportedGraphs();
  if (!graph || dtype !== 'fp32') {
    return existsSync(FULLSIZE_DIR)
      ? `no package yet in ${FULLSIZE_DIR} (the exporter's fullsize run is still building or converting it)`
      : 'not built (tools/export: python -m editmgt_export fullsize)';
  }
  if (!pythonAvailable()) return 'the exported graph is there but its inputs need the Python venv to read';
  const { inputs } = runPython('graph_io.py', [graph], 120_000) as unknown as { inputs: IoDesc[] };
  // the mask token is the transformer's last vocabulary id
  const cfg = join(FULLSIZE_DIR, 'checkpoint', 'editmgt', 'config.json');
  const vocab = existsSync(cfg)
    ? (JSON.parse(readFileSync(cfg, 'utf8')) as { vocab_size?: number }).vocab_size
    : undefined;
  return { file: graph, inputs, maskId: vocab ? vocab - 1 : 0 };
}

export async function benchFullsizeStep(dtype: string, threads: number): Promise<BenchRun> {
  const g = stepGraph(dtype);
  if (typeof g === 'string') return emptyRun('node-cpu', 'fullsize-random', dtype, threads, 1, g);
  const feeds: Record<string, AnyTensor> = {};
  for (const io of g.inputs) {
    const dims = io.shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[io.name] =
      io.dtype === 'int32'
        ? { type: 'int32', data: new Int32Array(n).fill(io.name === 'tokens' ? g.maskId : 0), dims }
        : {
            type: 'float32',
            data: new Float32Array(n).fill(
              io.name === 'text_weights' || io.name === 'guidance_scale' ? 1 : 0.5,
            ),
            dims,
          };
  }
  const runner = new OrtNodeRunner({ files: { transformer_step: g.file }, intraOpThreads: threads });
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
