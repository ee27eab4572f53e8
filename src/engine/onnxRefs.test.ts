import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { externalDataRefs, OnnxFormatError } from './onnxRefs';
import type { ReadRange } from './onnxRefs';

const tiny = (path: string) =>
  readFileSync(new URL(`../../public/models/tiny-random/${path}`, import.meta.url));

/** A reader of `bytes` that counts what it reads and refuses ranges outside the file. */
function reader(bytes: Uint8Array): { read: ReadRange; readBytes: () => number } {
  let total = 0;
  return {
    read: (start, end) => {
      if (start < 0 || end > bytes.length || start > end) throw new Error(`bad range ${start}-${end}`);
      total += end - start;
      return Promise.resolve(bytes.subarray(start, end));
    },
    readBytes: () => total,
  };
}

const scan = (bytes: Uint8Array) => externalDataRefs(reader(bytes).read, bytes.length);

// A minimal protobuf writer for hand-made ONNX models.
function concat(...parts: (number[] | Uint8Array)[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const num = (field: number, v: number) => concat(varint(field * 8), varint(v));
const len = (field: number, body: Uint8Array | string) => {
  const b = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  return concat(varint(field * 8 + 2), varint(b.length), b);
};
const entry = (key: string, value: string) => len(13, concat(len(1, key), len(2, value)));
/** TensorProto: dims, data_type float, name, then either raw_data or external entries. */
function tensor(name: string, dims: number[], stored: Uint8Array | Record<string, string>): Uint8Array {
  const head = concat(...dims.map((d) => num(1, d)), num(2, 1), len(8, name));
  if (stored instanceof Uint8Array) return concat(head, len(9, stored));
  return concat(head, ...Object.entries(stored).map(([k, v]) => entry(k, v)), num(14, 1));
}
const model = (graph: Uint8Array) =>
  concat(num(1, 10), len(7, graph), len(8, concat(len(1, ''), num(2, 18))));

describe('externalDataRefs', () => {
  it('lists every external tensor of a real graph, with offsets and lengths that fit its type and shape', async () => {
    const refs = await scan(tiny('fp32/transformer_step.onnx'));
    expect(new Set(refs.map((r) => r.location))).toEqual(
      new Set(['transformer_step.onnx.data', 'transformer_step.onnx.data_1']),
    );
    for (const r of refs) {
      expect(r.length).toBe(r.need);
      const chunk = tiny(`fp32/${r.location}`);
      expect(r.offset + r.length!).toBeLessThanOrEqual(chunk.length);
    }
  });

  it('finds references in Constant-node attributes inside subgraphs, and skips weights stored inline without reading them', async () => {
    const inline = new Uint8Array(8 << 20); // 8 MiB of raw_data the scan must not read
    const hidden = tensor('deep', [4, 2], { location: 'w.bin', offset: '64', length: '32' });
    const constant = len(1, concat(len(4, 'Constant'), len(5, concat(len(1, 'value'), len(5, hidden)))));
    const branch = len(5, concat(len(1, 'then_branch'), len(6, concat(constant, len(2, 'then')))));
    const ifNode = len(1, concat(len(4, 'If'), branch));
    const graph = concat(
      len(5, tensor('big', [inline.length / 4], inline)),
      len(5, tensor('top', [3], { location: 'w.bin' })),
      ifNode,
    );
    const bytes = model(graph);
    const r = reader(bytes);
    const refs = await externalDataRefs(r.read, bytes.length);
    expect(refs).toEqual([
      { tensor: 'top', location: 'w.bin', offset: 0, need: 12 },
      { tensor: 'deep', location: 'w.bin', offset: 64, length: 32, need: 32 },
    ]);
    expect(r.readBytes()).toBeLessThan(3 << 20);
  });

  it('names the byte where a truncated or foreign file stops being an ONNX model', async () => {
    const graph = tiny('q8/vq_decode.onnx');
    for (const cut of [1, 100, graph.length >> 1, graph.length - 1])
      await expect(scan(graph.subarray(0, cut)), `cut at ${cut}`).rejects.toThrow(OnnxFormatError);
    await expect(scan(new TextEncoder().encode('{"not": "onnx"}'))).rejects.toThrow(/at byte \d+/);
    await expect(scan(tiny('tokenizer_llm/tokenizer.json'))).rejects.toThrow(OnnxFormatError);
    await expect(scan(model(new Uint8Array(0)).subarray(0, 2))).rejects.toThrow(/the model has no graph/);
  });

  it('refuses an external tensor that names no file, or an offset that is not a number', async () => {
    const bytes = (stored: Record<string, string>) => model(len(5, tensor('t', [2], stored)));
    await expect(scan(bytes({ offset: '0' }))).rejects.toThrow(
      "tensor 't' is stored outside the graph but names no file",
    );
    await expect(scan(bytes({ location: 'w.bin', offset: '-4' }))).rejects.toThrow(
      "tensor 't' has offset '-4'",
    );
  });
});
