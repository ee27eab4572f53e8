/**
 * The ports a checkpoint is read through: a `ByteSource` is one file read by byte range, a
 * `CheckpointSource` a folder of them (a local folder, a hub repository at one commit, a set of
 * files in memory). Nothing here knows where the bytes live; the node and browser hosts provide
 * the sources.
 */

/** One file, read by byte range. */
export interface ByteSource {
  /** The file as messages name it, e.g. `hf:owner/repo@abc123/text_encoder/model.safetensors`. */
  readonly name: string;
  /** Its length in bytes. */
  readonly size: number;
  /** Bytes `[start, end)`; exactly `end - start` of them, or a rejection naming the file. */
  read(start: number, end: number, signal?: AbortSignal): Promise<Uint8Array>;
}

/** A checkpoint folder: its files listed once, each opened as a `ByteSource`. */
export interface CheckpointSource {
  /** The folder as messages name it. */
  readonly name: string;
  /** Every file, as paths relative to the folder with `/` separators (`vqvae/config.json`). */
  list(signal?: AbortSignal): Promise<readonly string[]>;
  /** A file of `list()`; a path that is not there is a `CheckpointError`. */
  open(path: string, signal?: AbortSignal): Promise<ByteSource>;
}

/** Bad or unreadable checkpoint input; the message names the file, tensor or field. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** Text files (configs, index files, tokenizers) are read whole, up to this size. */
export const MAX_TEXT_FILE_BYTES = 64 << 20;

type Utf8Decoder = { decode(bytes: Uint8Array): string };
let decoder: Utf8Decoder | undefined;

/** Strict UTF-8 decoding (TextDecoder is in every host but not in the engine's ES2022 lib). */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  decoder ??= new (
    globalThis as unknown as {
      TextDecoder: new (label: string, options: { fatal: boolean; ignoreBOM: boolean }) => Utf8Decoder;
    }
  ).TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    return decoder.decode(bytes);
  } catch {
    throw new CheckpointError(`${what} is not valid UTF-8`);
  }
}

/** A whole text file of the checkpoint, refused above `max` bytes. */
export async function readText(
  source: CheckpointSource,
  path: string,
  signal?: AbortSignal,
  max = MAX_TEXT_FILE_BYTES,
): Promise<string> {
  const file = await source.open(path, signal);
  if (file.size > max)
    throw new CheckpointError(`${file.name} is ${file.size} bytes; a text file may be at most ${max} bytes`);
  return decodeUtf8(await file.read(0, file.size, signal), file.name);
}

/** A JSON object file of the checkpoint. */
export async function readJsonObject(
  source: CheckpointSource,
  path: string,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const text = await readText(source, path, signal);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${source.name}/${path} is not valid JSON (${(err as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new CheckpointError(`${source.name}/${path} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** Checks a requested range against a file's size (every source does this the same way). */
export function checkRange(file: { name: string; size: number }, start: number, end: number): void {
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    end < start ||
    end > file.size
  )
    throw new CheckpointError(
      `${file.name}: cannot read bytes [${start}, ${end}) of a ${file.size}-byte file`,
    );
}

/** A checkpoint held in memory (tests, and files a host has already read). */
export function memorySource(name: string, files: Readonly<Record<string, Uint8Array>>): CheckpointSource {
  return {
    name,
    async list() {
      return Object.keys(files).sort();
    },
    async open(path) {
      const bytes = files[path];
      if (!bytes) throw new CheckpointError(`${name} has no file ${path}`);
      const file = { name: `${name}/${path}`, size: bytes.byteLength };
      return {
        ...file,
        async read(start, end, signal) {
          signal?.throwIfAborted();
          checkRange(file, start, end);
          return bytes.slice(start, end);
        },
      };
    },
  };
}
