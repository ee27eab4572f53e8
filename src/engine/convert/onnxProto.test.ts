/**
 * The ONNX reader on the exporter's real graphs (the shipped tiny-random package), checked
 * against what onnx's own loader reports (counts and a few known entries), and on malformed
 * bytes, which must be refused with the file, the field and the byte offset.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ONNX_TYPES, elementCount, initializerConsumers, readOnnxGraph, tensorByteLength } from './onnxProto';

const PACKAGE = path.resolve(__dirname, '../../../public/models/tiny-random');
const read = (file: string) => readFileSync(path.join(PACKAGE, file));

describe('readOnnxGraph on the exporter graphs', () => {
  it('lists initializers with their external data, and the nodes that read them', () => {
    const graph = readOnnxGraph(read('q4/text_clip.onnx'), 'q4/text_clip.onnx');
    const table = graph.initializers.find((t) => t.name.endsWith('token_embedding.weight_int8'));
    expect(table).toBeDefined();
    expect(table!.dataType).toBe(ONNX_TYPES.INT8);
    expect(table!.external?.location).toBe('text_clip.onnx.data');
    expect(table!.external?.length).toBe(tensorByteLength(table!));
    const consumers = initializerConsumers(graph);
    expect(consumers.get(table!.name)!.map((c) => [c.node.opType, c.input])).toEqual([['Gather', 0]]);

    const packed = graph.nodes.filter((n) => n.opType === 'MatMulNBits');
    expect(packed.length).toBeGreaterThan(0);
    for (const node of packed) {
      const weight = graph.initializers.find((t) => t.name === node.inputs[1])!;
      const { K, N, bits, block_size } = node.attributes as Record<string, number>;
      expect([bits, block_size, node.domain]).toEqual([4, 32, 'com.microsoft']);
      expect(weight.dims).toEqual([N, Math.ceil(K / 32), 16]);
      expect(weight.raw?.length ?? weight.external?.length).toBe(elementCount(weight));
    }
    expect(graph.inputs).toContain('input_ids');
  });

  it('reads scalars stored in typed fields (q8 scales and zero points)', () => {
    const graph = readOnnxGraph(read('q8/text_llm.onnx'), 'q8/text_llm.onnx');
    const scales = graph.initializers.filter((t) => t.name.endsWith('_scale') && t.dims.length === 0);
    expect(scales.length).toBeGreaterThan(0);
    for (const s of scales) expect(s.floatData?.length ?? s.raw?.length).toBeGreaterThan(0);
  });

  it('external data of every graph of every dtype lies inside its chunk file', () => {
    for (const dtype of ['fp32', 'fp16', 'q4', 'q4f16', 'q8'])
      for (const name of ['text_clip', 'text_llm', 'transformer_step', 'vq_encode', 'vq_decode']) {
        const graph = readOnnxGraph(read(`${dtype}/${name}.onnx`), `${dtype}/${name}.onnx`);
        for (const t of graph.initializers) {
          if (!t.external) continue;
          const size = read(path.join(dtype, t.external.location)).length;
          expect(t.external.offset + (t.external.length ?? 0)).toBeLessThanOrEqual(size);
          expect(t.external.length).toBe(tensorByteLength(t));
        }
      }
  });
});

describe('readOnnxGraph on malformed bytes', () => {
  const good = read('fp32/text_llm.onnx');

  it('refuses a truncated file naming the file and the offset', () => {
    expect(() => readOnnxGraph(good.subarray(0, Math.floor(good.length / 2)), 'cut.onnx')).toThrow(
      /^cut\.onnx: .* at byte \d+$/,
    );
  });

  it('refuses a length that runs past the end', () => {
    // field 7 (graph), length-delimited, claiming 100 bytes of a 3-byte message
    expect(() => readOnnxGraph(new Uint8Array([0x3a, 100, 1, 2, 3]), 'short.onnx')).toThrow(
      'short.onnx: ModelProto: length 100 runs past the end of its message at byte 2',
    );
  });

  it('refuses an overlong varint and a group wire type', () => {
    expect(() => readOnnxGraph(new Uint8Array(Array(11).fill(0xff)), 'v.onnx')).toThrow(/varint/);
    expect(() => readOnnxGraph(new Uint8Array([0x0b, 0x0c]), 'g.onnx')).toThrow(/unsupported wire type 3/);
  });

  it('refuses a model without a graph', () => {
    expect(() => readOnnxGraph(new Uint8Array([0x08, 0x08]), 'empty.onnx')).toThrow(
      'empty.onnx: no graph in the model',
    );
  });

  it('refuses an external tensor without a location', () => {
    // graph { initializer { name: "w", data_location: EXTERNAL } }
    const tensor = [0x42, 1, 0x77, 0x70, 1];
    const graph = [0x2a, tensor.length, ...tensor];
    expect(() => readOnnxGraph(new Uint8Array([0x3a, graph.length, ...graph]), 'x.onnx')).toThrow(
      /x\.onnx: initializer 0: initializer "w" is external with no location/,
    );
  });
});
