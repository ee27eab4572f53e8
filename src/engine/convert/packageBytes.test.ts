/**
 * Held-out proof of the encoders: every quantised or float16 weight of the shipped packages
 * (tiny-random in every dtype, shapes in q4 and q8), re-encoded here from the same package's fp32
 * weights, equals the stored bytes.
 *
 * Pairing (names are kept across dtypes by the exporter; folded weights keep their `val_N` name):
 * - fp16 (and the float16 weights of q4f16): a FLOAT16 initializer ↔ the fp32 initializer of the
 *   same name;
 * - q4 / q4f16: MatMulNBits(A, `B_Q4`, `B_scales`) ↔ fp32 `B` [K, N]; a constant-weight Gemm was
 *   rewritten first as MatMul with `W_matmul` = W (transposed when transB), so `W_matmul_Q4` ↔ W;
 *   the scale type (float32 / float16) says which of q4 / q4f16 made it;
 * - q8: MatMulInteger(A, `B_quantized`, A_zp, `B_zero_point`) with the scalar `B_scale` ↔ `B` as
 *   above;
 * - int8 tables: Gather(`T_int8`, ids) with `T_int8_scale` ↔ fp32 `T`; the token table files of
 *   fp16, q4, q4f16 and q8 ↔ fp32/text_llm.table.
 * Every tensor is fed to the encoders in row blocks, as a converter streams it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ONNX_TYPES,
  initializerConsumers,
  readOnnxGraph,
  tensorByteLength,
  type OnnxGraph,
  type OnnxInitializer,
} from './onnxProto';
import { encodeFloat16 } from './quantizeFloat16';
import {
  encodeInt8Rows,
  encodeQ8,
  encodeQ8Uint8,
  int8TableRows,
  maxAbs,
  minMax,
  q8Scale,
  q8Uint8Params,
} from './quantizeInt8';
import {
  Q4_BLOCK,
  encodeQ4Columns,
  createQ4RowEncoder,
  q4Blocks,
  q4ScaleBytes,
  type Q4Variant,
} from './quantizeQ4';

const MODELS = path.resolve(__dirname, '../../../public/models');
/** The shipped packages and their encoded dtypes (shapes ships fp32, q8 and q4). */
const PACKAGES = { 'tiny-random': ['fp16', 'q4', 'q4f16', 'q8'], shapes: ['q4', 'q8'] } as const;
const GRAPHS = ['text_clip', 'text_llm', 'transformer_step', 'vq_encode', 'vq_decode'] as const;
type Dtype = 'fp16' | 'q4' | 'q4f16' | 'q8';
/** The stored types only an encoder makes (float32 weights are copied as they are). */
const ENCODED_TYPES = new Set<number>([ONNX_TYPES.INT8, ONNX_TYPES.UINT8, ONNX_TYPES.FLOAT16]);

interface LoadedGraph {
  readonly graph: OnnxGraph;
  readonly byName: Map<string, OnnxInitializer>;
  bytes(name: string): Uint8Array;
}

/** A package's graph of a dtype, at the file its manifest names (shapes' q4 and q8 VQ graphs are its fp32 ones). */
function loadGraph(pkg: string, dtype: string, graphName: string): LoadedGraph {
  const manifest = JSON.parse(readFileSync(path.join(MODELS, pkg, 'manifest.json'), 'utf8'));
  const relative: string = manifest.dtypes[dtype].graphs[graphName].file;
  const file = path.join(MODELS, pkg, relative);
  const graph = readOnnxGraph(readFileSync(file), relative);
  const byName = new Map(graph.initializers.map((t) => [t.name, t]));
  const chunks = new Map<string, Uint8Array>();
  return {
    graph,
    byName,
    bytes(name) {
      const t = byName.get(name);
      if (!t) throw new Error(`${dtype}/${graphName}: no initializer ${name}`);
      if (t.raw) return t.raw;
      if (t.external) {
        const chunk =
          chunks.get(t.external.location) ?? readFileSync(path.join(path.dirname(file), t.external.location));
        chunks.set(t.external.location, chunk);
        return chunk.subarray(
          t.external.offset,
          t.external.offset + (t.external.length ?? tensorByteLength(t)!),
        );
      }
      if (t.floatData) return new Uint8Array(new Float32Array(t.floatData).buffer);
      if (t.int32Data && t.dataType === ONNX_TYPES.INT8)
        return new Uint8Array(new Int8Array(t.int32Data).buffer);
      if (t.int32Data && t.dataType === ONNX_TYPES.UINT8) return new Uint8Array(t.int32Data);
      throw new Error(`${dtype}/${graphName}: ${name} has no data this test reads`);
    },
  };
}

function floats(bytes: Uint8Array): Float32Array {
  return new Float32Array(new Uint8Array(bytes).buffer); // a copy: Buffer.slice would share the file
}

/** A fp32 weight as the quantisers saw it: [rows, cols] row-major. */
interface Source {
  readonly values: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** The fp32 source of a weight name as the quantised graph names it (see the header). */
function sourceOf(fp32: LoadedGraph, name: string): Source | undefined {
  const t = fp32.byName.get(name);
  if (t && t.dataType === ONNX_TYPES.FLOAT) {
    const dims = t.dims.length >= 2 ? t.dims : [1, ...t.dims];
    return {
      values: floats(fp32.bytes(name)),
      rows: dims.slice(0, -1).reduce((a, b) => a * b, 1),
      cols: dims.at(-1)!,
    };
  }
  if (!name.endsWith('_matmul')) return undefined;
  const weight = name.slice(0, -'_matmul'.length);
  const gemm = fp32.graph.nodes.find((n) => n.opType === 'Gemm' && n.inputs[1] === weight);
  const w = fp32.byName.get(weight);
  if (!gemm || !w || w.dims.length !== 2) return undefined;
  const values = floats(fp32.bytes(weight));
  const [r, c] = w.dims;
  if (!gemm.attributes.transB) return { values, rows: r, cols: c };
  const wt = new Float32Array(values.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) wt[j * r + i] = values[i * c + j];
  return { values: wt, rows: c, cols: r };
}

function rowBlock(src: Source, from: number, to: number): Float32Array {
  return src.values.subarray(from * src.cols, to * src.cols);
}

/** Count and list of what matched, per dtype. */
interface Tally {
  tensors: number;
  bytes: number;
  unpaired: string[];
  /** `<dtype>/<graph> <initializer>` of every stored tensor compared */
  checked: Set<string>;
}

function expectBytes(actual: Uint8Array, stored: Uint8Array, what: string, tally: Tally): void {
  expect(actual.length, `${what}: length`).toBe(stored.length);
  let first = -1;
  for (let i = 0; i < actual.length && first < 0; i++) if (actual[i] !== stored[i]) first = i;
  expect(first, `${what}: first differing byte`).toBe(-1);
  tally.tensors += 1;
  tally.bytes += stored.length;
  tally.checked.add(what);
}

function checkFloat16(fp32: LoadedGraph, g: LoadedGraph, what: string, tally: Tally): void {
  for (const t of g.graph.initializers) {
    if (t.dataType !== ONNX_TYPES.FLOAT16) continue;
    if (t.name.endsWith('_scales') || t.name.endsWith('_int8_scale')) continue; // checked with their weight
    const src = sourceOf(fp32, t.name);
    if (!src) {
      tally.unpaired.push(`${what} ${t.name}`);
      continue;
    }
    const out = new Uint8Array(src.values.length * 2);
    const step = 7; // any block size: the rule is per value
    for (let r = 0; r < src.rows; r += step) {
      const block = rowBlock(src, r, Math.min(src.rows, r + step));
      out.set(encodeFloat16(block), r * src.cols * 2);
    }
    expectBytes(out, g.bytes(t.name), `${what} ${t.name}`, tally);
  }
}

function checkQ4(fp32: LoadedGraph, g: LoadedGraph, what: string, tally: Tally): void {
  const consumers = initializerConsumers(g.graph);
  for (const t of g.graph.initializers) {
    // a packed weight is input 1 of its MatMulNBits node(s); shared weights are stored once
    const node = consumers.get(t.name)?.find((c) => c.node.opType === 'MatMulNBits' && c.input === 1)?.node;
    if (!node) continue;
    const [, qName, sName] = node.inputs;
    expect(node.inputs.length, `${what} ${node.name}: a zero-point input`).toBe(3);
    expect([node.attributes.bits, node.attributes.block_size]).toEqual([4, Q4_BLOCK]);
    const src = qName.endsWith('_Q4') ? sourceOf(fp32, qName.slice(0, -3)) : undefined;
    if (!src) {
      tally.unpaired.push(`${what} ${qName}`);
      continue;
    }
    const [k, n] = [src.rows, src.cols];
    expect([node.attributes.K, node.attributes.N]).toEqual([k, n]);
    const variant: Q4Variant = g.byName.get(sName)!.dataType === ONNX_TYPES.FLOAT16 ? 'q4f16' : 'q4';
    const blocks = q4Blocks(k);
    const sb = q4ScaleBytes(variant);
    // stream B [K, N] by blocks of 32 rows, placing each column's piece
    const data = new Uint8Array(n * blocks * 16);
    const scales = new Uint8Array(n * blocks * sb);
    const encoder = createQ4RowEncoder(k, n, variant);
    for (let r = 0; r < k; r += Q4_BLOCK) {
      const piece = encoder.encode(rowBlock(src, r, Math.min(k, r + Q4_BLOCK)));
      for (let col = 0; col < n; col++) {
        const at = col * blocks + piece.firstBlock;
        data.set(piece.data.subarray(col * piece.blocks * 16, (col + 1) * piece.blocks * 16), at * 16);
        scales.set(piece.scales.subarray(col * piece.blocks * sb, (col + 1) * piece.blocks * sb), at * sb);
      }
    }
    expectBytes(data, g.bytes(qName), `${what} ${qName}`, tally);
    expectBytes(scales, g.bytes(sName), `${what} ${sName}`, tally);
    // the other streaming order: whole output columns (rows of Bᵀ, a torch Linear weight's layout)
    const transposed = new Float32Array(k * n);
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) transposed[j * k + i] = src.values[i * n + j];
    const byColumns = encodeQ4Columns(transposed, k, variant);
    expect(Buffer.compare(byColumns.data, data), `${what} ${qName} by columns`).toBe(0);
    expect(Buffer.compare(byColumns.scales, scales), `${what} ${sName} by columns`).toBe(0);
  }
}

function checkQ8(fp32: LoadedGraph, g: LoadedGraph, what: string, tally: Tally): void {
  for (const node of g.graph.nodes) {
    if (node.opType !== 'MatMulInteger') continue;
    // input 1: an int8 weight; input 0 may be a constant too, quantised as a uint8 activation
    for (const input of [0, 1]) {
      const qName = node.inputs[input];
      if (!g.byName.has(qName) || tally.checked.has(`${what} ${qName}`)) continue; // shared: once
      const base = qName.endsWith('_quantized') ? qName.slice(0, -'_quantized'.length) : '';
      const src = base ? sourceOf(fp32, base) : undefined;
      if (!src) {
        tally.unpaired.push(`${what} ${qName}`);
        continue;
      }
      const step = 5;
      const blocks = Array.from({ length: Math.ceil(src.rows / step) }, (_, b) =>
        rowBlock(src, b * step, Math.min(src.rows, (b + 1) * step)),
      );
      let stored: Uint8Array;
      let scale: number;
      let zeroPoint: Uint8Array;
      if (input === 1) {
        scale = q8Scale(blocks.reduce((a, block) => maxAbs(block, 0, undefined, a), 0));
        stored = new Uint8Array(src.values.length);
        blocks.forEach((block, b) =>
          stored.set(new Uint8Array(encodeQ8(block, scale).buffer), b * step * src.cols),
        );
        zeroPoint = new Uint8Array(1);
      } else {
        const params = q8Uint8Params(
          blocks.reduce<[number, number]>((r, block) => minMax(block, r), [Infinity, -Infinity]),
        );
        stored = new Uint8Array(src.values.length);
        blocks.forEach((block, b) => stored.set(encodeQ8Uint8(block, params), b * step * src.cols));
        scale = params.scale;
        zeroPoint = new Uint8Array([params.zeroPoint]);
      }
      expectBytes(stored, g.bytes(qName), `${what} ${qName}`, tally);
      expectBytes(
        new Uint8Array(new Float32Array([scale]).buffer),
        g.bytes(`${base}_scale`),
        `${what} ${base}_scale`,
        tally,
      );
      expectBytes(zeroPoint, g.bytes(`${base}_zero_point`), `${what} ${base}_zero_point`, tally);
    }
  }
}

function checkInt8Tables(fp32: LoadedGraph, g: LoadedGraph, what: string, tally: Tally): void {
  for (const t of g.graph.initializers) {
    if (t.dataType !== ONNX_TYPES.INT8 || !t.name.endsWith('_int8')) continue;
    const src = sourceOf(fp32, t.name.slice(0, -'_int8'.length));
    const scaleName = `${t.name}_scale`;
    if (!src || !g.byName.has(scaleName)) {
      tally.unpaired.push(`${what} ${t.name}`);
      continue;
    }
    const variant = g.byName.get(scaleName)!.dataType === ONNX_TYPES.FLOAT16 ? 'float16' : 'float32';
    const values = new Uint8Array(src.values.length);
    const scales: Uint8Array[] = [];
    const step = 64;
    for (let r = 0; r < src.rows; r += step) {
      const rows = encodeInt8Rows(rowBlock(src, r, Math.min(src.rows, r + step)), src.cols, variant);
      values.set(new Uint8Array(rows.values.buffer), r * src.cols);
      scales.push(rows.scaleBytes);
    }
    expectBytes(values, g.bytes(t.name), `${what} ${t.name}`, tally);
    expectBytes(Buffer.concat(scales), g.bytes(scaleName), `${what} ${scaleName}`, tally);
  }
}

function checkTokenTable(pkg: string, dtype: Dtype, tally: Tally): void {
  const fp32 = floats(readFileSync(path.join(MODELS, pkg, 'fp32', 'text_llm.table')));
  const manifest = JSON.parse(readFileSync(path.join(MODELS, pkg, 'manifest.json'), 'utf8'));
  const table = manifest.dtypes[dtype].graphs.text_llm.token_table;
  const stored = readFileSync(path.join(MODELS, pkg, table.file));
  const parts: Uint8Array[] = [];
  const step = 50;
  for (let r = 0; r < table.rows; r += step) {
    const block = fp32.subarray(r * table.dim, Math.min(table.rows, r + step) * table.dim);
    if (table.format === 'float16') parts.push(encodeFloat16(block));
    else
      parts.push(
        int8TableRows(encodeInt8Rows(block, table.dim, dtype === 'q4f16' ? 'float16' : 'float32'), table.dim),
      );
  }
  expectBytes(Buffer.concat(parts), stored, `${table.file}`, tally);
}

describe('the encoders reproduce the shipped packages', () => {
  for (const [pkg, dtypes] of Object.entries(PACKAGES))
    for (const dtype of dtypes) {
      it(`${pkg} ${dtype}: every encoded weight, byte for byte`, () => {
        const tally: Tally = { tensors: 0, bytes: 0, unpaired: [], checked: new Set() };
        for (const name of GRAPHS) {
          const fp32 = loadGraph(pkg, 'fp32', name);
          const g = loadGraph(pkg, dtype, name);
          const what = `${dtype}/${name}`;
          checkFloat16(fp32, g, what, tally);
          checkQ4(fp32, g, what, tally);
          checkQ8(fp32, g, what, tally);
          checkInt8Tables(fp32, g, what, tally);
        }
        checkTokenTable(pkg, dtype, tally);
        // every weight the encoders make was compared: no int8/uint8/float16 tensor left over
        for (const name of GRAPHS)
          for (const t of loadGraph(pkg, dtype, name).graph.initializers) {
            if (ENCODED_TYPES.has(t.dataType) && !tally.checked.has(`${dtype}/${name} ${t.name}`))
              tally.unpaired.push(`${dtype}/${name} ${t.name}`);
          }
        const unpaired = tally.unpaired.join(', ') || 'none';
        console.log(
          `${pkg} ${dtype}: ${tally.tensors} tensors, ${tally.bytes} bytes equal; unpaired: ${unpaired}`,
        );
        expect(tally.unpaired).toEqual([]);
        expect(tally.tensors).toBeGreaterThan(10);
      });
    }
});
