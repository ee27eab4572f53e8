/**
 * The converter's VQ decode in two stages (graphStages.ts, vqDecode.ts) on the shipped
 * tiny-random package's fp32 `vq_decode`, on real onnxruntime-node:
 * - the stages hold every node of the graph once, in order, and pass one tensor between them;
 *   every initializer keeps its external data place, and the second stage reads at most 1/32 of
 *   the weight bytes;
 * - decoding the codebook mosaics in stages gives the whole graph's pixels within 1e-5 (equal on
 *   the machine it was written on; the optimiser may fuse an op at the cut in one and not the
 *   other, and the CPU's kernels then round differently, so no exact compare across machines).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codebookMosaics } from '../../../convert/codebookColors';
import { splitGraph } from '../../../convert/graphStages';
import { readOnnxGraph } from '../../../convert/onnxProto';
import { TINY } from '../testing/testModel';
import { openVqDecoder } from './vqDecode';

const manifest = JSON.parse(readFileSync(join(TINY, 'manifest.json'), 'utf8')) as {
  dtypes: Record<string, { graphs: { vq_decode: { file: string } } }>;
  config: {
    codebook_size: number;
    resolution: number;
    resolutions: Record<string, { token_grid: [number, number] }>;
  };
};

const grid = manifest.config.resolutions[String(manifest.config.resolution)]!.token_grid;
const mosaics = codebookMosaics(manifest.config.codebook_size, grid);
const feeds = (m: number) => {
  const [h, w] = grid;
  return {
    ids: { type: 'int32', data: mosaics.ids.slice(m * h * w, (m + 1) * h * w), dims: [1, h, w] },
  } as const;
};

describe('the fp32 vq_decode in two stages', () => {
  const path = join(TINY, manifest.dtypes['fp32']!.graphs.vq_decode.file);

  it('holds every node once, in order, with one tensor between the stages', () => {
    const bytes = new Uint8Array(readFileSync(path));
    const whole = readOnnxGraph(bytes, path);
    const stages = splitGraph(bytes, path);
    expect(stages).not.toBeNull();
    const first = readOnnxGraph(stages!.first, 'first');
    const second = readOnnxGraph(stages!.second, 'second');
    expect([...first.nodes, ...second.nodes]).toEqual(whole.nodes);
    expect(first.inputs).toEqual(whole.inputs);
    expect(first.outputs).toEqual([stages!.cut]);
    expect(second.inputs).toEqual([stages!.cut]);
    expect(second.outputs).toEqual(whole.outputs);
    const byName = new Map(whole.initializers.map((t) => [t.name, t]));
    for (const t of [...first.initializers, ...second.initializers]) expect(t).toEqual(byName.get(t.name));
    const total = whole.initializers.reduce((a, t) => a + (t.external?.length ?? 0), 0);
    expect(stages!.weightBytes[1]).toBeGreaterThan(0);
    expect(stages!.weightBytes[1]).toBeLessThanOrEqual(total / 32);
  });

  it("decodes the codebook mosaics to the whole graph's pixels", async () => {
    const staged = await openVqDecoder(path);
    const whole = await openVqDecoder(path, { staged: false });
    expect(staged.stages).not.toBeNull();
    expect(whole.stages).toBeNull();
    try {
      for (let m = 0; m < mosaics.count; m++) {
        const a = (await staged.decode(feeds(m)))['pixels']!;
        const b = (await whole.decode(feeds(m)))['pixels']!;
        expect(a.dims).toEqual(b.dims);
        const x = a.data as Float32Array;
        const y = b.data as Float32Array;
        expect(x.length).toBe(y.length);
        let worst = 0;
        for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
        expect(worst).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      await staged.release();
      await whole.release();
    }
  });
});

it('runs the fp16 vq_decode whole: its only one-tensor cuts are float16, which the host does not pass', async () => {
  const path = join(TINY, manifest.dtypes['fp16']!.graphs.vq_decode.file);
  expect(splitGraph(new Uint8Array(readFileSync(path)), path)).toBeNull();
  const decoder = await openVqDecoder(path);
  try {
    expect(decoder.stages).toBeNull();
    const pixels = (await decoder.decode(feeds(0)))['pixels']!;
    expect(pixels.type).toBe('float32');
    expect(pixels.dims).toEqual([1, 3, manifest.config.resolution, manifest.config.resolution]);
  } finally {
    await decoder.release();
  }
});
