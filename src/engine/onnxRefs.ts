/**
 * The external-data references inside an ONNX graph file, read from its protobuf: every tensor
 * whose bytes live in another file (`data_location: EXTERNAL`, with `location`, `offset` and
 * `length` entries), wherever it sits (initializers, sparse initializers, Constant-node
 * attributes, subgraphs, functions). The package opener checks them against the manifest before
 * any runtime sees the graph, so no file is read that the manifest does not list and checksum.
 *
 * Bounded: the file is read through a window of at most WINDOW_BYTES by byte range, weights stored
 * inside the graph are skipped over, not read, and nesting is limited. The walk also checks the
 * protobuf's framing, so a truncated or garbled graph is named here rather than by the runtime.
 */

/** Bytes [start, end) of the graph file. */
export type ReadRange = (start: number, end: number) => Promise<Uint8Array>;

/** One tensor stored outside the graph file. */
export interface ExternalRef {
  readonly tensor: string;
  /** The file name the graph gives, relative to the graph's own folder. */
  readonly location: string;
  readonly offset: number;
  /** The `length` entry, when the graph gives one. */
  readonly length?: number;
  /** The bytes the tensor's type and dims need, where that is fixed (not for strings). */
  readonly need?: number;
}

/** The graph file is not a well-formed ONNX protobuf; `at` is the byte offset where it broke. */
export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
  constructor(
    readonly at: number,
    what: string,
  ) {
    super(`${what} at byte ${at}`);
  }
}

const WINDOW_BYTES = 1 << 20;
/** Names and external-data entries longer than this are not real ones. */
const MAX_STRING_BYTES = 1 << 16;
const MAX_DEPTH = 48;

/** Bits per element of ONNX TensorProto.DataType values with a fixed size (STRING and UNDEFINED have none). */
const ELEMENT_BITS: Readonly<Record<number, number>> = {
  1: 32, // FLOAT
  2: 8, // UINT8
  3: 8, // INT8
  4: 16, // UINT16
  5: 16, // INT16
  6: 32, // INT32
  7: 64, // INT64
  9: 8, // BOOL
  10: 16, // FLOAT16
  11: 64, // DOUBLE
  12: 32, // UINT32
  13: 64, // UINT64
  14: 64, // COMPLEX64
  15: 128, // COMPLEX128
  16: 16, // BFLOAT16
  17: 8, // FLOAT8E4M3FN
  18: 8, // FLOAT8E4M3FNUZ
  19: 8, // FLOAT8E5M2
  20: 8, // FLOAT8E5M2FNUZ
  21: 4, // UINT4
  22: 4, // INT4
  23: 4, // FLOAT4E2M1
};

// TextDecoder is in every host but not in the engine's ES2022 lib.
const utf8 = new (
  globalThis as unknown as { TextDecoder: new () => { decode(b: Uint8Array): string } }
).TextDecoder();

/** A forward reader over the file through a byte-range window. */
class Cursor {
  pos = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;

  constructor(
    private readonly read: ReadRange,
    readonly size: number,
  ) {}

  /** Makes bytes [pos, pos + n) (or up to the end of the file) available to the sync reads. */
  async ensure(n: number): Promise<void> {
    const end = Math.min(this.size, this.pos + n);
    if (this.pos >= this.bufStart && end <= this.bufStart + this.buf.length) return;
    const to = Math.min(this.size, this.pos + Math.max(n, WINDOW_BYTES));
    const got = await this.read(this.pos, to);
    if (got.length !== to - this.pos)
      throw new OnnxFormatError(this.pos, `read ${got.length} of ${to - this.pos} bytes`);
    this.buf = got;
    this.bufStart = this.pos;
  }

  byte(): number {
    const i = this.pos - this.bufStart;
    if (this.pos >= this.size || i < 0 || i >= this.buf.length)
      throw new OnnxFormatError(this.pos, 'the file ends inside a field');
    this.pos++;
    return this.buf[i]!;
  }

  /** A varint as a number (exact below 2^53; larger values only ever mean a damaged file here). */
  varint(): number {
    const at = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new OnnxFormatError(at, 'a varint runs past 10 bytes');
  }

  /** Bytes [pos, pos + n) as a string; n is at most MAX_STRING_BYTES. */
  async string(n: number): Promise<string> {
    await this.ensure(n);
    const i = this.pos - this.bufStart;
    this.pos += n;
    return utf8.decode(this.buf.subarray(i, i + n));
  }
}

/** A field's number and wire type; `value` for varints, `end` where the field's bytes end. */
interface Field {
  readonly number: number;
  readonly wire: number;
  readonly value: number;
  readonly end: number;
}

async function nextField(c: Cursor, end: number): Promise<Field> {
  await c.ensure(20); // a key and a varint or length take at most 20 bytes
  const at = c.pos;
  const key = c.varint();
  const number = Math.floor(key / 8);
  const wire = key % 8;
  if (number === 0) throw new OnnxFormatError(at, 'a field numbered 0');
  let value = 0;
  let fieldEnd: number;
  if (wire === 0) {
    value = c.varint();
    fieldEnd = c.pos;
  } else if (wire === 1) fieldEnd = c.pos + 8;
  else if (wire === 5) fieldEnd = c.pos + 4;
  else if (wire === 2) {
    const length = c.varint();
    fieldEnd = c.pos + length;
  } else throw new OnnxFormatError(at, `wire type ${wire}, which ONNX does not use`);
  if (fieldEnd > end)
    throw new OnnxFormatError(
      at,
      `field ${number} runs ${fieldEnd - end} bytes past the end of its ${end === c.size ? 'file' : 'message'}`,
    );
  return { number, wire, value, end: fieldEnd };
}

/** Calls `on` for each field of the message that ends at `end`; what `on` leaves unread is skipped. */
async function walk(c: Cursor, end: number, on: (f: Field) => Promise<void> | void): Promise<void> {
  while (c.pos < end) {
    const f = await nextField(c, end);
    await on(f);
    c.pos = f.end;
  }
}

/** Which messages to descend into, by (message, field number): each path that can hold a tensor. */
type Kind = 'model' | 'graph' | 'node' | 'attribute' | 'sparse' | 'function';

const CHILDREN: Record<Kind, Readonly<Record<number, Kind | 'tensor'>>> = {
  model: { 7: 'graph', 25: 'function' }, // ModelProto.graph, .functions
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' }, // GraphProto.node, .initializer, .sparse_initializer
  node: { 5: 'attribute' }, // NodeProto.attribute
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  sparse: { 1: 'tensor', 2: 'tensor' }, // SparseTensorProto.values, .indices
  function: { 7: 'node' }, // FunctionProto.node
};

async function tensor(c: Cursor, end: number, out: ExternalRef[]): Promise<void> {
  const dims: number[] = [];
  let type = 0;
  let name = '';
  let external = false;
  const entries = new Map<string, string>();
  await walk(c, end, async (f) => {
    if (f.number === 1 && f.wire === 0) dims.push(f.value);
    else if (f.number === 1 && f.wire === 2) {
      while (c.pos < f.end) {
        await c.ensure(10);
        dims.push(c.varint());
      }
    } else if (f.number === 2 && f.wire === 0) type = f.value;
    else if (f.number === 8 && f.wire === 2 && f.end - c.pos <= MAX_STRING_BYTES)
      name = await c.string(f.end - c.pos);
    else if (f.number === 14 && f.wire === 0) external = f.value === 1;
    else if (f.number === 13 && f.wire === 2) {
      let key = '';
      let value = '';
      await walk(c, f.end, async (e) => {
        if (e.wire !== 2) return;
        if (e.end - c.pos > MAX_STRING_BYTES)
          throw new OnnxFormatError(
            c.pos,
            `an external-data entry of tensor '${name}' is ${e.end - c.pos} bytes long`,
          );
        const s = await c.string(e.end - c.pos);
        if (e.number === 1) key = s;
        else if (e.number === 2) value = s;
      });
      entries.set(key, value);
    }
  });
  if (!external) return;
  const at = c.pos;
  const location = entries.get('location');
  if (!location)
    throw new OnnxFormatError(at, `tensor '${name}' is stored outside the graph but names no file`);
  const count = (key: string) => {
    const v = entries.get(key);
    if (v === undefined) return undefined;
    if (!/^\d{1,15}$/.test(v)) throw new OnnxFormatError(at, `tensor '${name}' has ${key} '${v}'`);
    return Number(v);
  };
  const bits = ELEMENT_BITS[type];
  const need = bits === undefined ? undefined : Math.ceil((dims.reduce((a, b) => a * b, 1) * bits) / 8);
  const length = count('length');
  out.push({
    tensor: name,
    location,
    offset: count('offset') ?? 0,
    ...(length !== undefined ? { length } : {}),
    ...(need !== undefined ? { need } : {}),
  });
}

async function message(c: Cursor, kind: Kind, end: number, depth: number, out: ExternalRef[]): Promise<void> {
  if (depth > MAX_DEPTH) throw new OnnxFormatError(c.pos, `messages nested over ${MAX_DEPTH} deep`);
  const seen = new Set<number>();
  await walk(c, end, async (f) => {
    seen.add(f.number);
    const child = CHILDREN[kind][f.number];
    if (!child || f.wire !== 2) return;
    if (child === 'tensor') await tensor(c, f.end, out);
    else await message(c, child, f.end, depth + 1, out);
  });
  if (kind === 'model' && !seen.has(7)) throw new OnnxFormatError(end, 'the model has no graph');
}

/**
 * Every external-data reference in the ONNX graph file of `size` bytes that `read` gives, in file
 * order. Throws OnnxFormatError where the file is not a well-formed ONNX model.
 */
export async function externalDataRefs(read: ReadRange, size: number): Promise<ExternalRef[]> {
  const c = new Cursor(read, size);
  const out: ExternalRef[] = [];
  await message(c, 'model', size, 0, out);
  return out;
}
