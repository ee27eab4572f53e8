/**
 * Loads a model package's graphs in onnxruntime-node (through the engine's node runtime,
 * src/engine/runtime/node/ortNodeRunner) and times one transformer_step on the CPU. Used by the exporter's
 * `fullsize` check; prints one JSON line.
 *
 *   npx tsx tools/export/node/fullsizeStep.ts <package folder> <dtype> [threads]
 */
import { join } from 'node:path';
import type { AnyTensor, Dtype, GraphName } from '../../../src/engine/index';
import { OrtNodeRunner, readManifest } from '../../../src/engine/runtime/node/index';
import { stepFeeds } from '../../../bench/fullsize/stepFeeds';

async function main(): Promise<void> {
  const [dir, dtype, threads] = process.argv.slice(2);
  if (!dir || !dtype) throw new Error('usage: fullsizeStep.ts <package folder> <dtype> [threads]');
  const m = readManifest(dir);
  const graphs = m.dtypes[dtype as Dtype]?.graphs;
  if (!graphs) throw new Error(`the package has no ${dtype} graphs`);
  const files = Object.fromEntries(Object.entries(graphs).map(([g, e]) => [g, join(dir, e.file)])) as Record<
    GraphName,
    string
  >;
  const runner = new OrtNodeRunner({ files, intraOpThreads: Number(threads ?? 0) });
  // the text graphs load and run too (cheap); the VQ graphs at full resolution are left to the Python check
  const textMs: Record<string, number> = {};
  for (const [graph, len] of [
    ['text_clip', 77],
    ['text_llm', 256],
  ] as const) {
    const ids: AnyTensor = { type: 'int64', data: new BigInt64Array(len).fill(2n), dims: [1, len] };
    const mask: AnyTensor = { type: 'int64', data: new BigInt64Array(len).fill(1n), dims: [1, len] };
    const t = performance.now();
    // text_llm takes its token table's rows (inputs_embeds) when the package carries the table
    const table = graphs.text_llm.token_table;
    const embeds: AnyTensor | undefined = table && {
      type: 'float32',
      data: new Float32Array(len * table.dim).fill(0.01),
      dims: [1, len, table.dim],
    };
    const llmFeeds: Record<string, AnyTensor> = embeds
      ? { inputs_embeds: embeds, attention_mask: mask }
      : { input_ids: ids, attention_mask: mask };
    await runner.run(graph, graph === 'text_clip' ? { input_ids: ids } : llmFeeds);
    textMs[graph] = Math.round(performance.now() - t);
  }
  const t0 = performance.now();
  const out = await runner.run('transformer_step', stepFeeds(m) as Record<string, AnyTensor>);
  const firstMs = performance.now() - t0;
  const stepMs = runner.lastRunMs.get('transformer_step') ?? firstMs;
  const drawn = out['drawn_ids']!.data as Int32Array;
  const attention = out['attention']!.data as Float32Array;
  const finite =
    [...attention].every(Number.isFinite) &&
    [...(out['drawn_probs']!.data as Float32Array)].every(Number.isFinite);
  const readback = Object.values(out).reduce((s, v) => s + v.data.byteLength, 0);
  await runner.release();
  console.log(
    JSON.stringify({
      dtype,
      text_load_and_run_ms: textMs,
      session_create_ms: Math.round(firstMs - stepMs),
      step_ms: Math.round(stepMs),
      readback_bytes: readback,
      finite,
      drawn_in_range: drawn.every((v) => v >= 0 && v < m.config.codebook_size),
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
