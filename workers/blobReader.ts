/**
 * Reading stored model files back, and hashing them, a slice at a time.
 *
 * Chromium refuses `File.arrayBuffer()` on an OPFS file of 2 GiB or more (NotReadableError),
 * while `File.slice()` of the same file reads fine; so every read of a stored file goes through
 * slices, whatever its size. Hashing by slices also keeps at most one slice in memory.
 */
import { createSHA256 } from 'hash-wasm';

/** Chromium cannot read an OPFS file of this size or more whole (`arrayBuffer`), only by slices. */
export const WHOLE_READ_LIMIT = 2 ** 31;

/** Slices of this size are read one at a time (well under the 2 GiB a single read may take). */
export const SLICE_BYTES = 256 << 20;

/** A file's bytes, read slice by slice into one array. */
export async function readBlobBytes(blob: Blob, sliceBytes = SLICE_BYTES): Promise<Uint8Array> {
  if (!(sliceBytes > 0)) throw new RangeError(`slice size must be positive, not ${sliceBytes}`);
  const out = new Uint8Array(blob.size);
  for (let at = 0; at < blob.size; at += sliceBytes) {
    const end = Math.min(blob.size, at + sliceBytes);
    const part = new Uint8Array(await blob.slice(at, end).arrayBuffer());
    if (part.byteLength !== end - at)
      throw new Error(
        `the stored file changed while it was read (${at + part.byteLength} of ${blob.size} bytes)`,
      );
    out.set(part, at);
  }
  return out;
}

/** An incremental SHA-256: feed bytes as they arrive, resume from a saved state. */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  /** The state after the bytes so far (resume it with `createSha256(state)`). */
  save(): Uint8Array;
  hex(): string;
}

export async function createSha256(state?: Uint8Array): Promise<Sha256> {
  const hasher = await createSHA256();
  hasher.init();
  if (state) hasher.load(state);
  return {
    update: (bytes) => void hasher.update(bytes),
    save: () => hasher.save(),
    hex: () => hasher.digest('hex'),
  };
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const h = await createSha256();
  h.update(bytes);
  return h.hex();
}

/** A file's SHA-256, read slice by slice (never the whole file in memory). */
export async function sha256OfBlob(blob: Blob, sliceBytes = SLICE_BYTES): Promise<string> {
  const h = await createSha256();
  for (let at = 0; at < blob.size; at += sliceBytes) {
    h.update(new Uint8Array(await blob.slice(at, Math.min(blob.size, at + sliceBytes)).arrayBuffer()));
  }
  return h.hex();
}
