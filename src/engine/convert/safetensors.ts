/**
 * safetensors files read the way they are laid out: an 8-byte little-endian header length, a
 * JSON header (tensor name → dtype, shape, data_offsets; `__metadata__`), then the tensors'
 * bytes. The header is read and checked first; each tensor, or a range of its rows, is then read
 * by byte range, so a caller holds only what it asked for.
 *
 * The header is checked as strictly as the `safetensors` library checks it (the Python exporter's
 * reader): each tensor's byte length is its shape × dtype size, the tensors tile the data section
 * in offset order with no gap or overlap, and the last one ends where the file ends. A file that
 * library refuses is refused here too, with a message naming the file and the tensor.
 */
import { CheckpointError, decodeUtf8 } from './byteSource';
import type { ByteSource } from './byteSource';
import { bf16ToFloat32, f32BytesToFloat32, fp16ToFloat32 } from './halfFloat';

/** Bytes per element of every safetensors dtype. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The dtypes read as float32 (exactly: every value of each is a float32 value). */
export const FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type FloatDtype = (typeof FLOAT_DTYPES)[number];

/** The safetensors library's own cap on the header. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly numel: number;
  /** Absolute byte offsets `[begin, end)` in the file. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsFile {
  readonly source: ByteSource;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly metadata: Readonly<Record<string, string>>;
}

function fail(file: ByteSource, what: string): never {
  throw new CheckpointError(`${file.name}: ${what}`);
}

function parseEntry(file: ByteSource, name: string, raw: unknown, dataBytes: number): TensorEntry {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    fail(file, `tensor '${name}' has no dtype/shape/data_offsets object in the header`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES))
    fail(file, `tensor '${name}' has an unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))
    fail(file, `tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
    (offsets[0] as number) > (offsets[1] as number)
  )
    fail(file, `tensor '${name}' has bad data_offsets ${JSON.stringify(offsets)}`);
  const [b, e] = offsets as [number, number];
  let numel = 1;
  for (const d of shape as number[]) numel *= d;
  const need = numel * DTYPE_BYTES[dtype]!;
  if (!Number.isSafeInteger(need)) fail(file, `tensor '${name}' shape ${JSON.stringify(shape)} is too large`);
  if (e - b !== need)
    fail(
      file,
      `tensor '${name}': data_offsets [${b}, ${e}] hold ${e - b} bytes, but shape ${JSON.stringify(shape)} × ${dtype} needs ${need}`,
    );
  if (e > dataBytes)
    fail(
      file,
      `tensor '${name}' ends at data byte ${e}, but the file holds only ${dataBytes} bytes of tensor data (truncated?)`,
    );
  return { name, dtype, shape: shape as number[], numel, begin: b, end: e };
}

/**
 * Reads and checks a safetensors header; tensor offsets in the result are absolute file offsets.
 */
export async function readSafetensorsHeader(
  file: ByteSource,
  signal?: AbortSignal,
): Promise<SafetensorsFile> {
  if (file.size < 8) fail(file, `${file.size} bytes is too short for a safetensors file (truncated?)`);
  const head = await file.read(0, 8, signal);
  const lo = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  const hi = (head[4]! | (head[5]! << 8) | (head[6]! << 16) | (head[7]! << 24)) >>> 0;
  const headerBytes = hi * 2 ** 32 + lo;
  if (headerBytes > MAX_HEADER_BYTES)
    fail(
      file,
      `the header claims ${headerBytes} bytes (at most ${MAX_HEADER_BYTES}): not a safetensors file`,
    );
  if (8 + headerBytes > file.size)
    fail(
      file,
      `the header claims ${headerBytes} bytes but the file has only ${file.size - 8} after its length (truncated, or not safetensors)`,
    );
  const text = decodeUtf8(await file.read(8, 8 + headerBytes, signal), `${file.name}'s header`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail(file, `the header is not valid JSON (${(err as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    fail(file, 'the header is not a JSON object');

  const dataStart = 8 + headerBytes;
  const dataBytes = file.size - dataStart;
  const entries: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (
        !raw ||
        typeof raw !== 'object' ||
        Array.isArray(raw) ||
        !Object.values(raw).every((v) => typeof v === 'string')
      )
        fail(file, '__metadata__ is not a map of strings');
      metadata = raw as Record<string, string>;
      continue;
    }
    entries.push(parseEntry(file, name, raw, dataBytes));
  }
  // the tensors tile the data section in offset order, as the safetensors library requires
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev: TensorEntry | undefined;
  for (const t of sorted) {
    if (t.begin < at)
      fail(file, `tensors '${prev!.name}' and '${t.name}' overlap (data bytes ${t.begin}–${at})`);
    if (t.begin > at)
      fail(
        file,
        `data bytes ${at}–${t.begin} belong to no tensor (before '${t.name}'): the offsets do not tile the data`,
      );
    at = t.end;
    prev = t;
  }
  if (at !== dataBytes)
    fail(
      file,
      `the tensors end at data byte ${at} but the file holds ${dataBytes} bytes of tensor data (${at < dataBytes ? 'trailing bytes' : 'truncated'})`,
    );
  const tensors = new Map<string, TensorEntry>();
  for (const t of entries) tensors.set(t.name, { ...t, begin: t.begin + dataStart, end: t.end + dataStart });
  return { source: file, tensors, metadata };
}

function entryOf(file: SafetensorsFile, name: string): TensorEntry {
  const t = file.tensors.get(name);
  if (!t) throw new CheckpointError(`${file.source.name} has no tensor '${name}'`);
  return t;
}

/** The raw little-endian bytes of one tensor. */
export async function readTensorBytes(
  file: SafetensorsFile,
  name: string,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const t = entryOf(file, name);
  return file.source.read(t.begin, t.end, signal);
}

/** Refuses a dtype that is not read as float32, naming the tensor. */
export function checkFloatDtype(t: TensorEntry, where: string): FloatDtype {
  if (!(FLOAT_DTYPES as readonly string[]).includes(t.dtype))
    throw new CheckpointError(
      `${where}: tensor '${t.name}' is ${t.dtype}; only ${FLOAT_DTYPES.join(', ')} tensors are read as float32`,
    );
  return t.dtype as FloatDtype;
}

/** Little-endian bytes of a float dtype to float32 values (exact). */
export function toFloat32(bytes: Uint8Array, dtype: FloatDtype): Float32Array {
  switch (dtype) {
    case 'F32':
      return f32BytesToFloat32(bytes);
    case 'F16':
      return fp16ToFloat32(bytes);
    case 'BF16':
      return bf16ToFloat32(bytes);
  }
}

/** One whole tensor as float32. */
export async function readTensorFloat32(
  file: SafetensorsFile,
  name: string,
  signal?: AbortSignal,
): Promise<Float32Array> {
  const t = entryOf(file, name);
  const dtype = checkFloatDtype(t, file.source.name);
  return toFloat32(await file.source.read(t.begin, t.end, signal), dtype);
}

/**
 * Rows `[rowStart, rowEnd)` of a tensor as float32, a row being everything under one index of
 * the first dimension (a 2-D `[rows, cols]` tensor gives `(rowEnd - rowStart) · cols` values).
 * Only those rows' bytes are read.
 */
export async function readTensorRows(
  file: SafetensorsFile,
  name: string,
  rowStart: number,
  rowEnd: number,
  signal?: AbortSignal,
): Promise<Float32Array> {
  const t = entryOf(file, name);
  const dtype = checkFloatDtype(t, file.source.name);
  if (t.shape.length === 0)
    throw new CheckpointError(`${file.source.name}: tensor '${name}' is a scalar; it has no rows`);
  const rows = t.shape[0]!;
  if (
    !Number.isSafeInteger(rowStart) ||
    !Number.isSafeInteger(rowEnd) ||
    rowStart < 0 ||
    rowEnd < rowStart ||
    rowEnd > rows
  )
    throw new CheckpointError(
      `${file.source.name}: rows [${rowStart}, ${rowEnd}) are outside tensor '${name}' with ${rows} rows`,
    );
  const rowBytes = rows === 0 ? 0 : (t.end - t.begin) / rows;
  const bytes = await file.source.read(t.begin + rowStart * rowBytes, t.begin + rowEnd * rowBytes, signal);
  return toFloat32(bytes, dtype);
}
