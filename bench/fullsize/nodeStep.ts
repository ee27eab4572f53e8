/**
 * The onnxruntime-node side of the full-size measurement (reached through cli/, the node side's
 * only onnxruntime import): the same transformer step the page ran, and full-depth steps timed by
 * the exporter's own script (tools/export/node/fullsizeStep.ts).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { AnyTensor, Dtype } from '../../src/engine/index';
import { OrtNodeRunner, readManifest } from '../../src/engine/runtime/node/index';
import type { StepResult } from './pageTypes';
import { compareStep } from './report';
import type { NodeStepRun, StepParityRun } from './report';
import { stepFeeds } from './stepFeeds';

export async function nodeStepParity(
  dir: string,
  name: string,
  dtype: Dtype,
  resolution: number,
  browser: StepResult,
): Promise<StepParityRun> {
  const base: StepParityRun = {
    kind: 'step-parity',
    package: name,
    dtype,
    resolution,
    backend: 'webgpu',
    reference: 'onnxruntime-node',
    ok: false,
    error: browser.error,
    browser_ms: Math.round(browser.ms),
    node_ms: 0,
    max_abs_diff_probs: null,
    id_agreement: null,
  };
  if (!browser.ok) return base;
  const m = readManifest(dir);
  const file = m.dtypes[dtype]?.graphs.transformer_step.file;
  if (!file) return { ...base, error: `no ${dtype} transformer_step` };
  const runner = new OrtNodeRunner({ files: { transformer_step: join(dir, file) }, intraOpThreads: 0 });
  try {
    const out = await runner.run('transformer_step', stepFeeds(m) as Record<string, AnyTensor>);
    const node = Object.fromEntries(
      Object.entries(out).map(([k, v]) => [k, Array.from(v.data as ArrayLike<number>, Number)]),
    );
    const { maxAbsDiff, idAgreement } = compareStep(browser, node);
    return {
      ...base,
      ok: true,
      error: null,
      node_ms: Math.round(runner.lastRunMs.get('transformer_step') ?? 0),
      max_abs_diff_probs: maxAbsDiff,
      id_agreement: idAgreement,
    };
  } catch (err) {
    return { ...base, error: (err as Error).message };
  } finally {
    await runner.release();
  }
}

/** One full-depth step in a child process (tools/export/node/fullsizeStep.ts prints one JSON line). */
export function nodeStep(dir: string, name: string, dtype: Dtype, resolution: number): NodeStepRun {
  const r = spawnSync('npx', ['tsx', 'tools/export/node/fullsizeStep.ts', dir, dtype], { encoding: 'utf8' });
  const base: NodeStepRun = {
    kind: 'node-step',
    package: name,
    dtype,
    resolution,
    backend: 'onnxruntime-node',
    ok: false,
    error: null,
    step_ms: null,
    session_create_ms: null,
    peak_rss_bytes: null,
  };
  if (r.status !== 0) return { ...base, error: r.stderr.trim().split('\n').pop() ?? `exit ${r.status}` };
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    step_ms: number;
    session_create_ms: number;
    peak_rss_bytes: number;
  };
  return {
    ...base,
    ok: true,
    step_ms: j.step_ms,
    session_create_ms: j.session_create_ms,
    peak_rss_bytes: j.peak_rss_bytes,
  };
}
