/**
 * The LLM text encoder's token table, read row by row from its package file (the table is out
 * of the text_llm graph: Gemma2's is 256,000 rows, 590 MB even as int8, and a prompt needs at
 * most its 256 rows). The graph takes the rows as `inputs_embeds` and applies Gemma's
 * sqrt(hidden) scale itself, as the reference's embedding does.
 *
 * Row i sits at bytes [i·row_bytes, (i+1)·row_bytes): `float32` D values, `float16` D values, or
 * `int8` one float32 scale then D int8 values (value = int8 · scale, a float32 product as the
 * graph computed it before the table left it).
 */
import type { Manifest } from './manifest.types';
import type { GraphRunner } from './ports';
import { makeTensor } from './tensor';

export type TokenTableSpec = NonNullable<
  NonNullable<Manifest['dtypes']['fp32']>['graphs']['text_llm']['token_table']
>;

/** Bytes [start, end) of the table file. */
export type ReadTableBytes = (start: number, end: number) => Promise<Uint8Array>;

/** The bytes of one row of `dim` values in each format. */
export const TOKEN_ROW_BYTES: Readonly<Record<TokenTableSpec['format'], (dim: number) => number>> = {
  float32: (d) => 4 * d,
  float16: (d) => 2 * d,
  int8: (d) => 4 + d,
};

/** IEEE half (bits) -> number; exact. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export class TokenTable {
  constructor(
    readonly spec: TokenTableSpec,
    private readonly read: ReadTableBytes,
  ) {
    if (spec.row_bytes !== TOKEN_ROW_BYTES[spec.format](spec.dim))
      throw new Error(
        `token table ${spec.file}: ${spec.format} rows of ${spec.dim} values take ${TOKEN_ROW_BYTES[spec.format](spec.dim)} bytes, not ${spec.row_bytes}`,
      );
  }

  /** The rows of `ids`, in order: float32 [ids.length · dim]. Each distinct id is read once. */
  async rows(ids: Int32Array): Promise<Float32Array> {
    const { dim, rows, row_bytes: rowBytes, file } = this.spec;
    const decoded = new Map<number, Float32Array>();
    for (const id of ids) {
      if (decoded.has(id)) continue;
      if (!Number.isInteger(id) || id < 0 || id >= rows)
        throw new Error(`token id ${id} is outside the token table ${file} (${rows} rows)`);
      const bytes = await this.read(id * rowBytes, (id + 1) * rowBytes);
      if (bytes.length !== rowBytes)
        throw new Error(`token table ${file}: row ${id} read ${bytes.length} of ${rowBytes} bytes`);
      decoded.set(id, this.decode(bytes));
    }
    const out = new Float32Array(ids.length * dim);
    ids.forEach((id, i) => out.set(decoded.get(id)!, i * dim));
    return out;
  }

  private decode(bytes: Uint8Array): Float32Array {
    const { dim, format } = this.spec;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const row = new Float32Array(dim);
    if (format === 'float32') for (let k = 0; k < dim; k++) row[k] = view.getFloat32(4 * k, true);
    else if (format === 'float16')
      for (let k = 0; k < dim; k++) row[k] = halfToNumber(view.getUint16(2 * k, true));
    else {
      const scale = view.getFloat32(0, true);
      for (let k = 0; k < dim; k++) row[k] = view.getInt8(4 + k) * scale; // stored as float32: one rounding, as in the graph
    }
    return row;
  }
}

/**
 * `runner` with the package's token lookup in front of text_llm: a run fed `input_ids` [B, L]
 * is fed `inputs_embeds` [B, L, D] (the ids' rows) instead, so every host and test that encodes
 * text through the runner works unchanged. Everything else goes to `runner` as it is.
 */
export function withTokenLookup<R extends GraphRunner>(runner: R, table: TokenTable): R {
  const run: GraphRunner['run'] = async (graph, feeds, signal) => {
    const ids = feeds['input_ids'];
    if (graph !== 'text_llm' || !ids) return runner.run(graph, feeds, signal);
    const [batch = 1, length = 0] = ids.dims;
    const rows = await table.rows(Int32Array.from(ids.data as ArrayLike<number | bigint>, Number));
    signal?.throwIfAborted();
    const { input_ids: _ids, ...rest } = feeds;
    void _ids;
    return runner.run(
      graph,
      { ...rest, inputs_embeds: makeTensor('float32', rows, [batch, length, table.spec.dim]) },
      signal,
    );
  };
  return new Proxy(runner, {
    get(target, key) {
      if (key === 'run') return run;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
