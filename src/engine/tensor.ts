/**
 * The project's own small tensor type. Everything outside `workers/` and `cli/` sees this,
 * never an onnxruntime tensor. Data is row-major (C order); `dims` are the shape.
 */

export type TensorType = 'float32' | 'int32' | 'int64' | 'uint8';

export interface TensorDataByType {
  float32: Float32Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
}

export interface Tensor<T extends TensorType = TensorType> {
  readonly type: T;
  readonly data: TensorDataByType[T];
  readonly dims: readonly number[];
}

export type AnyTensor = Tensor<'float32'> | Tensor<'int32'> | Tensor<'int64'> | Tensor<'uint8'>;

/** Number of elements for a shape. */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`bad dimension ${String(d)} in [${dims.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** Builds a tensor after checking that the data length matches the shape. */
export function makeTensor<T extends TensorType>(
  type: T,
  data: TensorDataByType[T],
  dims: readonly number[],
): Tensor<T> {
  const n = sizeOf(dims);
  if (data.length !== n) {
    throw new Error(`tensor data has ${data.length} elements, shape [${dims.join(', ')}] needs ${n}`);
  }
  return { type, data, dims: [...dims] };
}

/** Narrows a tensor to the expected dtype, or throws a message naming what was expected. */
export function expectType<T extends TensorType>(t: AnyTensor | undefined, type: T, what: string): Tensor<T> {
  if (t === undefined) throw new Error(`${what}: missing output`);
  if (t.type !== type) throw new Error(`${what}: expected ${type}, got ${t.type}`);
  return t as Tensor<T>;
}

/** Checks a tensor's shape; `-1` in `dims` matches any size. */
export function expectDims(t: { dims: readonly number[] }, dims: readonly number[], what: string): void {
  const ok = t.dims.length === dims.length && dims.every((d, i) => d === -1 || d === t.dims[i]);
  if (!ok) throw new Error(`${what}: expected shape [${dims.join(', ')}], got [${t.dims.join(', ')}]`);
}

/** Bytes held by a tensor's data (used for readback accounting). */
export function byteLength(t: AnyTensor): number {
  return t.data.byteLength;
}
