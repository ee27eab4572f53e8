/**
 * The weight map's transforms (docs/model-package.md, "Templates and weight maps"), with numpy's
 * semantics exactly: `transpose` (np.transpose), `reshape` (np.reshape, row-major), `gather`
 * (np.take along one axis; indices an integer or a nested list, negative ones counted from the
 * end) and `slice` (`x[start:stop:step]` per axis; a negative stop means "to the start", as the
 * maps write a negative step's end). Values are float32, row-major.
 *
 * `transformedShape` follows the shapes alone, so a map's entry is checked against the
 * checkpoint's header before any tensor byte is read.
 */
import { CheckpointError } from './byteSource';

export type Transform =
  | { readonly op: 'transpose'; readonly perm: readonly number[] }
  | { readonly op: 'reshape'; readonly shape: readonly number[] }
  | { readonly op: 'gather'; readonly axis: number; readonly indices: NestedIndices }
  | {
      readonly op: 'slice';
      readonly axes: readonly { axis: number; start: number; stop: number; step: number }[];
    };
export type NestedIndices = number | readonly NestedIndices[];

export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Python's `slice(start, stop, step).indices(n)`, then the positions it selects. */
function slicePositions(n: number, start: number, stop: number | null, step: number): number[] {
  let lo: number;
  let hi: number;
  if (step > 0) {
    lo = start < 0 ? Math.max(0, start + n) : Math.min(start, n);
    hi = stop === null ? n : stop < 0 ? Math.max(0, stop + n) : Math.min(stop, n);
  } else {
    lo = start < 0 ? Math.max(-1, start + n) : Math.min(start, n - 1);
    hi = stop === null ? -1 : stop < 0 ? Math.max(-1, stop + n) : Math.min(stop, n - 1);
  }
  const out: number[] = [];
  for (let i = lo; step > 0 ? i < hi : i > hi; i += step) out.push(i);
  return out;
}

function flatIndices(indices: NestedIndices, where: string): { shape: number[]; values: number[] } {
  if (typeof indices === 'number') return { shape: [], values: [indices] };
  const parts = indices.map((x) => flatIndices(x, where));
  const inner = parts[0]?.shape ?? [];
  if (parts.some((p) => p.shape.join() !== inner.join()))
    throw new CheckpointError(`${where}: gather indices are a ragged list`);
  return { shape: [indices.length, ...inner], values: parts.flatMap((p) => p.values) };
}

/** One axis of the result: the source positions it takes (a map from output index to input index). */
interface Plan {
  readonly shape: number[];
  /** per output axis: the input axis it walks and the input positions, or a gather's block */
  readonly run: (out: Float32Array, src: Float32Array) => void;
}

/** Values a gather copies one by one below this run length, and as one block from it on. */
export const GATHER_COPY_RUN = 64;

function fail(where: string, why: string): never {
  throw new CheckpointError(`${where}: ${why}`);
}

function plan(shape: readonly number[], t: Transform, where: string): Plan {
  const rank = shape.length;
  switch (t.op) {
    case 'transpose': {
      const perm = t.perm;
      if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
        fail(where, `transpose perm ${JSON.stringify(perm)} does not fit shape ${JSON.stringify(shape)}`);
      const out = perm.map((p) => shape[p]!);
      const inStrides = stridesOf(shape);
      const walk = perm.map((p) => inStrides[p]!);
      return { shape: out, run: (o, s) => strided(o, s, out, walk, 0) };
    }
    case 'reshape': {
      if (count(t.shape) !== count(shape))
        fail(where, `cannot reshape ${JSON.stringify(shape)} into ${JSON.stringify(t.shape)}`);
      return { shape: [...t.shape], run: (o, s) => o.set(s) };
    }
    case 'slice': {
      const positions = shape.map((n) => Array.from({ length: n }, (_, i) => i));
      for (const a of t.axes) {
        if (!(a.axis >= 0 && a.axis < rank))
          fail(where, `slice axis ${a.axis} of shape ${JSON.stringify(shape)}`);
        if (a.step === 0) fail(where, 'slice step 0');
        positions[a.axis] = slicePositions(shape[a.axis]!, a.start, a.stop >= 0 ? a.stop : null, a.step);
      }
      return select(shape, positions);
    }
    case 'gather': {
      const axis = t.axis;
      if (!(axis >= 0 && axis < rank)) fail(where, `gather axis ${axis} of shape ${JSON.stringify(shape)}`);
      const n = shape[axis]!;
      const { shape: ishape, values } = flatIndices(t.indices, where);
      const picks = values.map((v) => {
        if (!Number.isInteger(v) || v < -n || v >= n)
          fail(where, `gather index ${v} is outside axis ${axis} of size ${n}`);
        return v < 0 ? v + n : v;
      });
      const outer = count(shape.slice(0, axis));
      const inner = count(shape.slice(axis + 1));
      const out = [...shape.slice(0, axis), ...ishape, ...shape.slice(axis + 1)];
      return {
        shape: out,
        run: (o, s) => {
          let w = 0;
          // short runs (a convolution kernel's taps) value by value: a view per run costs more
          if (inner < GATHER_COPY_RUN) {
            for (let a = 0; a < outer; a++)
              for (let q = 0; q < picks.length; q++) {
                const from = (a * n + picks[q]!) * inner;
                for (let i = 0; i < inner; i++) o[w++] = s[from + i]!;
              }
            return;
          }
          for (let a = 0; a < outer; a++)
            for (const p of picks) {
              const from = (a * n + p) * inner;
              o.set(s.subarray(from, from + inner), w);
              w += inner;
            }
        },
      };
    }
    default:
      return fail(where, `unknown weight-map transform ${JSON.stringify((t as { op: unknown }).op)}`);
  }
}

/** Positions per axis → the values at their cross product, row-major. */
function select(shape: readonly number[], positions: number[][]): Plan {
  const out = positions.map((p) => p.length);
  const inStrides = stridesOf(shape);
  return {
    shape: out,
    run: (o, s) => {
      const rank = shape.length;
      if (count(out) === 0) return;
      const idx = new Array<number>(rank).fill(0);
      for (let w = 0; w < o.length; w++) {
        let at = 0;
        for (let d = 0; d < rank; d++) at += positions[d]![idx[d]!]! * inStrides[d]!;
        o[w] = s[at]!;
        for (let d = rank - 1; d >= 0; d--) {
          if (++idx[d]! < out[d]!) break;
          idx[d] = 0;
        }
      }
    },
  };
}

/** o[i₀…] = s[Σ iₖ·walkₖ + base], row-major over `shape` (transposes; 2-D in tiles). */
function strided(
  o: Float32Array,
  s: Float32Array,
  shape: readonly number[],
  walk: readonly number[],
  base: number,
): void {
  const rank = shape.length;
  if (count(shape) === 0) return;
  if (rank === 2) {
    const [r, c] = shape as [number, number];
    const [wr, wc] = walk as [number, number];
    const T = 64;
    for (let i0 = 0; i0 < r; i0 += T)
      for (let j0 = 0; j0 < c; j0 += T) {
        const i1 = Math.min(r, i0 + T);
        const j1 = Math.min(c, j0 + T);
        for (let i = i0; i < i1; i++) {
          const row = i * c;
          const from = base + i * wr;
          for (let j = j0; j < j1; j++) o[row + j] = s[from + j * wc]!;
        }
      }
    return;
  }
  const idx = new Array<number>(rank).fill(0);
  let at = base;
  for (let w = 0; w < o.length; w++) {
    o[w] = s[at]!;
    for (let d = rank - 1; d >= 0; d--) {
      at += walk[d]!;
      if (++idx[d]! < shape[d]!) break;
      at -= walk[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * A block of rows of a 2-D tensor, transposed into a band of another: for src [rows, cols]
 * (row-major), out[c · outStride + outColumn + r] = src[r · cols + c]. With outStride the whole
 * transposed tensor's row length and outColumn the block's first row, blocks fill Wᵀ band by band;
 * values are moved as they are (any typed array of one element size: float32 bits, float16 bits,
 * int8 bytes).
 */
export function transposeInto<T extends Float32Array | Uint32Array | Uint16Array | Uint8Array>(
  src: T,
  rows: number,
  cols: number,
  out: T,
  outStride: number,
  outColumn: number,
): void {
  if (
    src.length < rows * cols ||
    outColumn + rows > outStride ||
    out.length < (cols - 1) * outStride + outColumn + rows
  )
    throw new RangeError(
      `transpose: a [${rows}, ${cols}] block does not fit at column ${outColumn} of rows of ${outStride} (${out.length} values)`,
    );
  const T = 64;
  for (let r0 = 0; r0 < rows; r0 += T)
    for (let c0 = 0; c0 < cols; c0 += T) {
      const r1 = Math.min(rows, r0 + T);
      const c1 = Math.min(cols, c0 + T);
      for (let c = c0; c < c1; c++) {
        const to = c * outStride + outColumn;
        for (let r = r0; r < r1; r++) out[to + r] = src[r * cols + c]!;
      }
    }
}

/** The shape after the transforms (nothing computed). */
export function transformedShape(
  shape: readonly number[],
  transforms: readonly Transform[],
  where: string,
): number[] {
  let s = [...shape];
  for (const t of transforms) s = plan(s, t, where).shape;
  return s;
}

/** The transforms applied in order (a new array each time; the input is not changed). */
export function applyTransforms(x: Tensor, transforms: readonly Transform[], where: string): Tensor {
  let cur = x;
  for (const t of transforms) {
    const p = plan(cur.shape, t, where);
    if (t.op === 'reshape') {
      cur = { data: cur.data, shape: p.shape };
      continue;
    }
    const out = new Float32Array(count(p.shape));
    p.run(out, cur.data);
    cur = { data: out, shape: p.shape };
  }
  return cur;
}
