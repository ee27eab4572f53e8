/**
 * A small ONNX protobuf reader for conversion: a graph file's initializers (name, data type,
 * dims, and where their bytes are: inline `raw_data` / typed fields, or external data with its
 * location, offset and length) and its nodes (op type, inputs, outputs, scalar attributes), so
 * each stored weight can be paired with the node that consumes it.
 *
 * Bounded: it walks the bytes it is given once, never copies weight bytes (inline data is a
 * view into the input), checks every length against the buffer, limits string sizes and reads
 * only the top-level graph (subgraph attributes are skipped). A malformed file is refused with
 * the file's name, the field and the byte offset.
 */

/** ONNX TensorProto.DataType values this reader names. */
export const ONNX_TYPES = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  BFLOAT16: 16,
} as const;

/** Bytes per element of the fixed-size ONNX data types. */
export const ONNX_ELEMENT_BYTES: Readonly<Record<number, number>> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  16: 2,
};

export interface ExternalData {
  readonly location: string;
  readonly offset: number;
  readonly length?: number;
}

export interface OnnxInitializer {
  readonly name: string;
  readonly dataType: number;
  readonly dims: readonly number[];
  /** Inline `raw_data` (a view into the file's bytes). */
  readonly raw?: Uint8Array;
  /** Inline typed fields, when the tensor has no raw_data. */
  readonly floatData?: readonly number[];
  readonly int32Data?: readonly number[];
  readonly int64Data?: readonly number[];
  readonly external?: ExternalData;
}

export type AttributeValue = number | string | readonly number[];

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Scalar and list attributes (i, f, s, ints, floats); tensors and subgraphs are left out. */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

export interface OnnxGraph {
  readonly initializers: readonly OnnxInitializer[];
  readonly nodes: readonly OnnxNode[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

const MAX_STRING_BYTES = 1 << 16;
// TextDecoder is in every host (browsers, workers, node) but not in the engine's ES2022 lib.
const decoder = new (
  globalThis as unknown as {
    TextDecoder: new (label: string, options: { fatal: boolean }) => { decode(b: Uint8Array): string };
  }
).TextDecoder('utf-8', { fatal: true });

/** A cursor over one protobuf message (bytes [at, end) of the file). */
class Cursor {
  constructor(
    readonly bytes: Uint8Array,
    public at: number,
    readonly end: number,
    readonly file: string,
    readonly where: string,
  ) {}

  fail(what: string): never {
    throw new Error(`${this.file}: ${this.where}: ${what} at byte ${this.at}`);
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) this.fail('truncated varint');
      const b = this.bytes[this.at++];
      if (i === 9 && b > 1) this.fail('varint longer than 64 bits');
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value >= 2 ** 63 ? value - 2 ** 64 : value; // int64 two's complement
      scale *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  length(): number {
    const n = this.varint();
    if (n < 0 || this.at + n > this.end) this.fail(`length ${n} runs past the end of its message`);
    return n;
  }

  sub(where: string): Cursor {
    const n = this.length();
    const c = new Cursor(this.bytes, this.at, this.at + n, this.file, where);
    this.at += n;
    return c;
  }

  view(): Uint8Array {
    const n = this.length();
    const v = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  string(field: string): string {
    const v = this.view();
    if (v.length > MAX_STRING_BYTES) this.fail(`${field} of ${v.length} bytes`);
    try {
      return decoder.decode(v);
    } catch {
      return this.fail(`${field} is not UTF-8`);
    }
  }

  fixed32(): DataView {
    if (this.at + 4 > this.end) this.fail('truncated fixed32');
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.at, 4);
    this.at += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.at += 8;
    else if (wire === 2) {
      const n = this.length(); // read first: `this.at += this.length()` would add to the old position
      this.at += n;
    } else if (wire === 5) this.at += 4;
    else this.fail(`unsupported wire type ${wire}`);
    if (this.at > this.end) this.fail('field runs past the end of its message');
  }

  /** Each (field, wire type) of the message in turn. */
  *fields(): Generator<[number, number]> {
    while (this.at < this.end) {
      const key = this.varint();
      const field = Math.floor(key / 8);
      if (field < 1) this.fail(`field number ${field}`);
      yield [field, key & 7];
    }
  }

  /** A repeated integer field, packed (wire 2) or one value (wire 0). */
  ints(wire: number, into: number[]): void {
    if (wire === 0) into.push(this.varint());
    else if (wire === 2) {
      const c = this.sub(this.where);
      while (c.at < c.end) into.push(c.varint());
    } else this.fail(`integer field of wire type ${wire}`);
  }

  /** A repeated float field, packed (wire 2) or one value (wire 5). */
  floats(wire: number, into: number[]): void {
    if (wire === 5) into.push(this.fixed32().getFloat32(0, true));
    else if (wire === 2) {
      const v = this.view();
      if (v.length % 4 !== 0) this.fail('packed floats not a multiple of 4 bytes');
      const dv = new DataView(v.buffer, v.byteOffset, v.length);
      for (let i = 0; i < v.length; i += 4) into.push(dv.getFloat32(i, true));
    } else this.fail(`float field of wire type ${wire}`);
  }
}

function readTensor(c: Cursor): OnnxInitializer {
  let name = '';
  let dataType = 0;
  const dims: number[] = [];
  let raw: Uint8Array | undefined;
  const floatData: number[] = [];
  const int32Data: number[] = [];
  const int64Data: number[] = [];
  const entries = new Map<string, string>();
  let location = 0;
  for (const [field, wire] of c.fields()) {
    if (field === 1) c.ints(wire, dims);
    else if (field === 2 && wire === 0) dataType = c.varint();
    else if (field === 4) c.floats(wire, floatData);
    else if (field === 5) c.ints(wire, int32Data);
    else if (field === 7) c.ints(wire, int64Data);
    else if (field === 8 && wire === 2) name = c.string('tensor name');
    else if (field === 9 && wire === 2) raw = c.view();
    else if (field === 13 && wire === 2) {
      const e = c.sub(`external_data of ${name || 'a tensor'}`);
      let key = '';
      let value = '';
      for (const [f, w] of e.fields()) {
        if (f === 1 && w === 2) key = e.string('external_data key');
        else if (f === 2 && w === 2) value = e.string('external_data value');
        else e.skip(w);
      }
      entries.set(key, value);
    } else if (field === 14 && wire === 0) location = c.varint();
    else c.skip(wire);
  }
  const where = `initializer ${JSON.stringify(name)}`;
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0))
    c.fail(`${where} has dims ${JSON.stringify(dims)}`);
  let external: ExternalData | undefined;
  if (location === 1) {
    const file = entries.get('location');
    const offset = Number(entries.get('offset') ?? '0');
    const lengthText = entries.get('length');
    const length = lengthText === undefined ? undefined : Number(lengthText);
    if (!file) c.fail(`${where} is external with no location`);
    if (!Number.isSafeInteger(offset) || offset < 0)
      c.fail(`${where} has external offset ${entries.get('offset')}`);
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0))
      c.fail(`${where} has external length ${lengthText}`);
    external = { location: file, offset, ...(length === undefined ? {} : { length }) };
  }
  return {
    name,
    dataType,
    dims,
    ...(raw ? { raw } : {}),
    ...(floatData.length ? { floatData } : {}),
    ...(int32Data.length ? { int32Data } : {}),
    ...(int64Data.length ? { int64Data } : {}),
    ...(external ? { external } : {}),
  };
}

function readNode(c: Cursor): OnnxNode {
  let name = '';
  let opType = '';
  let domain = '';
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes: Record<string, AttributeValue> = {};
  for (const [field, wire] of c.fields()) {
    if (field === 1 && wire === 2) inputs.push(c.string('node input'));
    else if (field === 2 && wire === 2) outputs.push(c.string('node output'));
    else if (field === 3 && wire === 2) name = c.string('node name');
    else if (field === 4 && wire === 2) opType = c.string('op_type');
    else if (field === 7 && wire === 2) domain = c.string('domain');
    else if (field === 5 && wire === 2) {
      const a = c.sub(`attribute of node ${name || opType}`);
      let key = '';
      let value: AttributeValue | undefined;
      const list: number[] = [];
      for (const [f, w] of a.fields()) {
        if (f === 1 && w === 2) key = a.string('attribute name');
        else if (f === 2 && w === 5) value = a.fixed32().getFloat32(0, true);
        else if (f === 3 && w === 0) value = a.varint();
        else if (f === 4 && w === 2) value = a.string('attribute string');
        else if (f === 7) a.floats(w, list);
        else if (f === 8) a.ints(w, list);
        else a.skip(w);
      }
      if (value === undefined && list.length) value = list;
      if (key && value !== undefined) attributes[key] = value;
    } else c.skip(wire);
  }
  return { name, opType, domain, inputs, outputs, attributes };
}

function valueInfoName(c: Cursor): string {
  let name = '';
  for (const [field, wire] of c.fields()) {
    if (field === 1 && wire === 2) name = c.string('value name');
    else c.skip(wire);
  }
  return name;
}

/** The top-level graph of an ONNX model file's bytes; `file` names it in errors. */
export function readOnnxGraph(bytes: Uint8Array, file = 'model'): OnnxGraph {
  const model = new Cursor(bytes, 0, bytes.length, file, 'ModelProto');
  let graph: Cursor | undefined;
  for (const [field, wire] of model.fields()) {
    if (field === 7 && wire === 2) graph = model.sub('GraphProto');
    else model.skip(wire);
  }
  if (!graph) throw new Error(`${file}: no graph in the model`);
  const initializers: OnnxInitializer[] = [];
  const nodes: OnnxNode[] = [];
  const inputs: string[] = [];
  const outputs: string[] = [];
  for (const [field, wire] of graph.fields()) {
    if (field === 1 && wire === 2) nodes.push(readNode(graph.sub(`node ${nodes.length}`)));
    else if (field === 5 && wire === 2)
      initializers.push(readTensor(graph.sub(`initializer ${initializers.length}`)));
    else if (field === 11 && wire === 2) inputs.push(valueInfoName(graph.sub('graph input')));
    else if (field === 12 && wire === 2) outputs.push(valueInfoName(graph.sub('graph output')));
    else graph.skip(wire);
  }
  return { initializers, nodes, inputs, outputs };
}

/** A node input that reads an initializer. */
export interface Consumer {
  readonly node: OnnxNode;
  readonly input: number;
}

/** For each initializer, the nodes that read it and at which input index. */
export function initializerConsumers(graph: OnnxGraph): Map<string, Consumer[]> {
  const users = new Map<string, Consumer[]>(graph.initializers.map((t) => [t.name, []]));
  for (const node of graph.nodes)
    node.inputs.forEach((name, input) => users.get(name)?.push({ node, input }));
  return users;
}

/** Elements of an initializer (1 for a scalar). */
export function elementCount(t: OnnxInitializer): number {
  return t.dims.reduce((a, b) => a * b, 1);
}

/** The byte size its type and dims need, or undefined for types without a fixed size. */
export function tensorByteLength(t: OnnxInitializer): number | undefined {
  const size = ONNX_ELEMENT_BYTES[t.dataType];
  return size === undefined ? undefined : elementCount(t) * size;
}
