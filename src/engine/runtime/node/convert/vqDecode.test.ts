/**
 * The converter's VQ decode in two stages (graphStages.ts, vqDecode.ts) on the shipped
 * tiny-random package's fp32 `vq_decode`, on real onnxruntime-node:
 * - the stages hold every node of the graph once, in order, and pass one tensor between them;
 *   every initializer keeps its external data place, and the second stage reads at most 1/32 of
 *   the weight bytes;
 * - `splitStages` cuts the graph into a chain of stages of at most a quarter of its weights each
 *   (the tab's decode: each stage's data is held in JS while its session is made), which decodes
 *   to the whole graph's pixels within 1e-5;
 * - the second stage carries its weights inline (`inlineExternalData`): the same bytes, read from
 *   the data file's ranges, so its session needs no data file (run here from a folder without
 *   one, giving the staged decoder's pixels exactly: the same graph and bytes on one machine);
 * - decoding the codebook mosaics in stages gives the whole graph's pixels within 1e-5 (equal on
 *   the machine it was written on; the optimiser may fuse an op at the cut in one and not the
 *   other, and the CPU's kernels then round differently, so no exact compare across machines).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codebookMosaics } from '../../../convert/codebookColors';
import { inlineExternalData, splitGraph, splitStages } from '../../../convert/graphStages';
import { readOnnxGraph } from '../../../convert/onnxProto';
import { OrtNodeRunner } from '../ortNodeRunner';
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

  it("carries the second stage's weights inline, so it runs with no data file", async () => {
    const bytes = new Uint8Array(readFileSync(path));
    const stages = splitGraph(bytes, path)!;
    const reads: [string, number, number][] = [];
    const read = async (location: string, offset: number, length: number) => {
      reads.push([location, offset, length]);
      return new Uint8Array(readFileSync(join(dirname(path), location))).subarray(offset, offset + length);
    };
    const inlined = await inlineExternalData(stages.second, 'second', read);
    const before = readOnnxGraph(stages.second, 'second');
    const after = readOnnxGraph(inlined, 'inlined');
    expect(after.nodes).toEqual(before.nodes);
    expect([after.inputs, after.outputs]).toEqual([before.inputs, before.outputs]);
    expect(after.initializers.map((t) => t.name)).toEqual(before.initializers.map((t) => t.name));
    expect(before.initializers.some((t) => t.external)).toBe(true);
    for (const [i, t] of after.initializers.entries()) {
      const was = before.initializers[i]!;
      expect(t.external).toBeUndefined();
      expect([t.dataType, t.dims]).toEqual([was.dataType, was.dims]);
      if (!was.external) continue;
      const file = new Uint8Array(readFileSync(join(dirname(path), was.external.location)));
      expect(t.raw).toEqual(file.subarray(was.external.offset, was.external.offset + was.external.length!));
    }
    const externalBytes = before.initializers.reduce((a, t) => a + (t.external?.length ?? 0), 0);
    expect(reads.reduce((a, r) => a + r[2], 0)).toBe(externalBytes);
    // a short read is refused, naming the tensor
    await expect(inlineExternalData(stages.second, 'second', async () => new Uint8Array(1))).rejects.toThrow(
      /second: .+ needs \d+ bytes of .+, got 1/,
    );

    // its session, made in a folder with no data file, gives the staged decoder's pixels
    const empty = mkdtempSync(join(tmpdir(), 'vq-second-'));
    // the decoder's own session options (no arena, no blocked layout), so the kernels are its own
    const options = { memoryArena: false, blockedLayout: false };
    const first = new OrtNodeRunner({
      files: { vq_decode: { bytes: stages.first, folder: dirname(path) } },
      ...options,
    });
    const alone = new OrtNodeRunner({ files: { vq_decode: { bytes: inlined, folder: empty } }, ...options });
    const staged = await openVqDecoder(path);
    try {
      const cut = await first.run('vq_decode', feeds(0));
      const a = (await alone.run('vq_decode', cut))['pixels']!;
      const b = (await staged.decode(feeds(0)))['pixels']!;
      expect(a.dims).toEqual(b.dims);
      expect(a.data).toEqual(b.data);
    } finally {
      await Promise.all([first.release(), alone.release(), staged.release()]);
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("cuts into a chain of stages of at most a quarter of the weights, giving the whole graph's pixels", async () => {
    const bytes = new Uint8Array(readFileSync(path));
    const whole = readOnnxGraph(bytes, path);
    const weightsOf = (g: ReturnType<typeof readOnnxGraph>) =>
      g.initializers.reduce((a, t) => a + (t.external?.length ?? 0), 0);
    const stages = splitStages(bytes, path, { maxShare: 1 / 4 });
    const graphs = stages.map((b, i) => readOnnxGraph(b, `stage ${i}`));
    expect(graphs.length).toBeGreaterThanOrEqual(4);
    expect(graphs.flatMap((g) => g.nodes)).toEqual(whole.nodes);
    expect(graphs[0]!.inputs).toEqual(whole.inputs);
    expect(graphs.at(-1)!.outputs).toEqual(whole.outputs);
    for (let i = 1; i < graphs.length; i++) {
      expect(graphs[i]!.inputs).toHaveLength(1);
      expect(graphs[i]!.inputs).toEqual(graphs[i - 1]!.outputs);
    }
    for (const g of graphs) expect(weightsOf(g)).toBeLessThanOrEqual(weightsOf(whole) / 4);
    // the tail is the two-stage split's second stage
    expect(stages.at(-1)).toEqual(splitGraph(bytes, path)!.second);

    const options = { memoryArena: false, blockedLayout: false };
    const runners = stages.map(
      (b) => new OrtNodeRunner({ files: { vq_decode: { bytes: b, folder: dirname(path) } }, ...options }),
    );
    const reference = await openVqDecoder(path, { staged: false });
    try {
      for (let m = 0; m < mosaics.count; m++) {
        let x: Awaited<ReturnType<OrtNodeRunner['run']>> = feeds(m);
        for (const r of runners) x = await r.run('vq_decode', x);
        const a = x['pixels']!;
        const b = (await reference.decode(feeds(m)))['pixels']!;
        expect(a.dims).toEqual(b.dims);
        let worst = 0;
        const [p, q] = [a.data as Float32Array, b.data as Float32Array];
        for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i]! - q[i]!));
        expect(worst).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      await Promise.all([...runners.map((r) => r.release()), reference.release()]);
    }
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
