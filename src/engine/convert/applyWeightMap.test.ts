/**
 * applyWeightMap streams: a 512 × 1024 float32 weight (2 MiB) with 64 KiB row blocks is never
 * read in a piece larger than one block nor written in one larger than a transpose span, and the
 * streamed q4 (a transposed Linear weight), float16 and transposed q8 bytes equal the encoders
 * applied to the whole tensor at once; a transposed float32 and float16 weight, and a reshaped
 * one, stream too (odd sizes, blocks that end inside a span of the transposed output) and give
 * the whole-tensor bytes.
 */
import { describe, expect, it } from 'vitest';
import { applyWeightMap, TRANSPOSE_SPAN_BLOCKS } from './applyWeightMap';
import type { PackageWriter, WeightMap, WeightMapEntry } from './applyWeightMap';
import { memorySource } from './byteSource';
import type { CheckpointSource } from './byteSource';
import { encodeFloat16 } from './quantizeFloat16';
import { encodeQ8, maxAbs, q8Scale } from './quantizeInt8';
import { encodeQ4Columns } from './quantizeQ4';
import { f32Bytes, writeSafetensors } from './testing/safetensorsWriter';
import { applyTransforms } from './transforms';
import { openWeights } from './weights';

const N = 512; // Linear out features (rows as stored)
const K = 1024; // in features
const BLOCK = 64 << 10;

function memoryWriter(): PackageWriter & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    async writeFile(path, bytes) {
      files.set(path, bytes.slice());
    },
    async createFile(path, size) {
      files.set(path, new Uint8Array(size));
    },
    async writeAt(path, offset, bytes) {
      files.get(path)!.set(bytes, offset);
    },
    async *readBlocks(path) {
      yield files.get(path)!;
    },
    async size(path) {
      return files.get(path)!.length;
    },
  };
}

/** A source that records the largest single read. */
function recording(source: CheckpointSource, reads: number[]): CheckpointSource {
  return {
    name: source.name,
    list: (s) => source.list(s),
    async open(path, s) {
      const f = await source.open(path, s);
      return {
        name: f.name,
        size: f.size,
        read(start, end, signal) {
          reads.push(end - start);
          return f.read(start, end, signal);
        },
      };
    },
  };
}

describe('applyWeightMap', () => {
  it('streams row blocks and writes what the whole-tensor encoders give', async () => {
    const values = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
    const ckpt = memorySource('ckpt', {
      'sub/model.safetensors': writeSafetensors([
        { name: 'w', dtype: 'F32', shape: [N, K], data: f32Bytes(values) },
      ]),
    });
    const reads: number[] = [];
    const weights = await openWeights(recording(ckpt, reads), 'sub');
    const nb = K / 32;
    const src = [{ subfolder: 'sub', tensor: 'w' }];
    const t = [{ op: 'transpose' as const, perm: [1, 0] }];
    const sizes = { blocks: N * nb * 16, scales: N * nb * 4, f16: N * K * 2, q8: N * K };
    const entries: WeightMapEntry[] = [
      {
        name: 'w_Q4',
        shape: [N, nb, 16],
        sources: src,
        transforms: t,
        encoding: { type: 'q4', part: 'blocks', block_size: 32, input: 'float32', scale_type: 'float32' },
        place: { file: 'g.onnx.data', offset: 0, length: sizes.blocks },
      },
      {
        name: 'w_scales',
        shape: [N * nb],
        sources: src,
        transforms: t,
        encoding: { type: 'q4', part: 'scales', block_size: 32, input: 'float32', scale_type: 'float32' },
        place: { file: 'g.onnx.data', offset: sizes.blocks, length: sizes.scales },
      },
      {
        name: 'w',
        shape: [N, K],
        sources: src,
        transforms: [],
        encoding: { type: 'float16' },
        place: { file: 'g.onnx.data_1', offset: 0, length: sizes.f16 },
      },
      {
        name: 'w_quantized',
        shape: [K, N],
        sources: src,
        transforms: t,
        encoding: { type: 'q8', part: 'values', input: 'float32' },
        place: { file: 'g.onnx.data_2', offset: 0, length: sizes.q8 },
      },
      {
        name: 'w_scale',
        shape: [],
        sources: src,
        transforms: t,
        encoding: { type: 'q8', part: 'scale', input: 'float32' },
        place: { file: 'g.onnx', offset: 2, length: 4 },
      },
    ];
    const map: WeightMap = {
      format: 'editmgt-weightmap',
      version: 1,
      graph: 'transformer_step',
      dtype: 'q4',
      compute_dtype: 'q4',
      template: 'g.onnx',
      constants: null,
      files: [
        { file: 'g.onnx.data', bytes: sizes.blocks + sizes.scales },
        { file: 'g.onnx.data_1', bytes: sizes.f16 },
        { file: 'g.onnx.data_2', bytes: sizes.q8 },
      ],
      entries,
    };
    const templates = memorySource('templates', { 'q4/g.onnx': new Uint8Array(16) });
    const writer = memoryWriter();
    const writes: number[] = [];
    const put = writer.writeAt.bind(writer);
    writer.writeAt = async (path, offset, bytes) => {
      writes.push(bytes.length);
      await put(path, offset, bytes);
    };
    await applyWeightMap({
      map,
      templates,
      templateFolder: 'q4',
      weights: () => weights,
      writer,
      folder: 'q4',
      rowBlockBytes: BLOCK,
    });

    const tensorReads = reads.filter((r) => r > 1024); // not the header's
    expect(tensorReads.length).toBeGreaterThan(3 * ((N * K * 4) / BLOCK) - 1);
    expect(Math.max(...tensorReads)).toBeLessThanOrEqual(BLOCK);
    // the transposed q8 values (512 KiB) are never held whole: written span by span
    expect(Math.max(...writes)).toBeLessThanOrEqual(TRANSPOSE_SPAN_BLOCKS * BLOCK);

    const q4 = encodeQ4Columns(values, K, 'q4');
    const data = writer.files.get('q4/g.onnx.data')!;
    expect(data.subarray(0, sizes.blocks)).toEqual(q4.data);
    expect(data.subarray(sizes.blocks)).toEqual(q4.scales);
    expect(writer.files.get('q4/g.onnx.data_1')).toEqual(encodeFloat16(values));
    const b = applyTransforms({ data: values, shape: [N, K] }, t, 'w').data;
    const scale = q8Scale(maxAbs(b));
    const q8 = encodeQ8(b, scale);
    expect(writer.files.get('q4/g.onnx.data_2')).toEqual(new Uint8Array(q8.buffer));
    expect(new DataView(writer.files.get('q4/g.onnx')!.buffer).getFloat32(2, true)).toBe(scale);
  });
});

describe('applyWeightMap, transposed and reshaped float weights', () => {
  it('streams them in row blocks and spans and writes the whole-tensor bytes', async () => {
    const R = 301; // rows as stored
    const C = 173;
    const block = 5000; // 7 rows of float32 a block
    const values = Float32Array.from({ length: R * C }, (_, i) => Math.cos(i * 0.11) * (1 + (i % 5)));
    const ckpt = memorySource('ckpt', {
      'sub/model.safetensors': writeSafetensors([
        { name: 'w', dtype: 'F32', shape: [R, C], data: f32Bytes(values) },
      ]),
    });
    const reads: number[] = [];
    const weights = await openWeights(recording(ckpt, reads), 'sub');
    const src = [{ subfolder: 'sub', tensor: 'w' }];
    const t = [{ op: 'transpose' as const, perm: [1, 0] }];
    const f32 = R * C * 4;
    const f16 = R * C * 2;
    const entries: WeightMapEntry[] = [
      {
        name: 'wT',
        shape: [C, R],
        sources: src,
        transforms: t,
        encoding: { type: 'float32' },
        place: { file: 'g.onnx.data', offset: 0, length: f32 },
      },
      {
        name: 'wT_f16',
        shape: [C, R],
        sources: src,
        transforms: t,
        encoding: { type: 'float16' },
        place: { file: 'g.onnx.data', offset: f32, length: f16 },
      },
      {
        name: 'w_flat',
        shape: [C, R],
        sources: src,
        transforms: [{ op: 'reshape', shape: [C, R] }],
        encoding: { type: 'float16' },
        place: { file: 'g.onnx.data', offset: f32 + f16, length: f16 },
      },
    ];
    const map: WeightMap = {
      format: 'editmgt-weightmap',
      version: 1,
      graph: 'text_clip',
      dtype: 'fp32',
      compute_dtype: 'fp32',
      template: 'g.onnx',
      constants: null,
      files: [{ file: 'g.onnx.data', bytes: f32 + 2 * f16 }],
      entries,
    };
    const templates = memorySource('templates', { 'fp32/g.onnx': new Uint8Array(16) });
    const writer = memoryWriter();
    const writes: number[] = [];
    const put = writer.writeAt.bind(writer);
    writer.writeAt = async (path, offset, bytes) => {
      writes.push(bytes.length);
      await put(path, offset, bytes);
    };
    await applyWeightMap({
      map,
      templates,
      templateFolder: 'fp32',
      weights: () => weights,
      writer,
      folder: 'fp32',
      rowBlockBytes: block,
    });

    const tensorReads = reads.filter((r) => r > 1024);
    expect(Math.max(...tensorReads)).toBeLessThanOrEqual(block);
    // a span holds at most TRANSPOSE_SPAN_BLOCKS blocks of encoded bytes, so Wᵀ goes in pieces
    expect(Math.max(...writes)).toBeLessThanOrEqual(TRANSPOSE_SPAN_BLOCKS * block);
    const whole = applyTransforms({ data: values, shape: [R, C] }, t, 'w').data;
    const data = writer.files.get('fp32/g.onnx.data')!;
    expect(data.subarray(0, f32)).toEqual(new Uint8Array(whole.buffer));
    expect(data.subarray(f32, f32 + f16)).toEqual(encodeFloat16(whole));
    expect(data.subarray(f32 + f16)).toEqual(encodeFloat16(values));
  });
});
