/**
 * One package file downloaded into OPFS: hashed while it arrives (never read back to be
 * checked), resumable, and guarded against a server that stops sending.
 *
 * While downloading, `<sha256>.part` holds the bytes so far and `<sha256>.part.state` the offset
 * and hash state they were flushed at (saved every few MB and whenever the download stops). A
 * later attempt truncates the part to that offset, restores the hash and asks for the rest with
 * a Range request; without a state it starts over. Once the hash matches, the part is renamed to
 * `<sha256>` and the verified mark written beside it.
 */
import { createSha256, readBlobBytes, sha256OfBlob, SLICE_BYTES } from './blobReader';
import type { Sha256 } from './blobReader';
import { FetchError, StallError, StallWatch } from './download';
import type { PackageFile } from './modelStore';
import { fileIfExists, readSync, removeEntry, renameFile, writeSmallFile } from './opfs';

export class IntegrityError extends Error {
  constructor(path: string, expected: string, actual: string) {
    super(
      `${path} is corrupt: its sha256 is ${actual.slice(0, 12)}…, the manifest says ${expected.slice(0, 12)}…`,
    );
    this.name = 'IntegrityError';
  }
}

/** The hash state is saved at least this often (bytes), so a crash loses little. */
const SAVE_STATE_EVERY = 32 << 20;

interface Part {
  dir: FileSystemDirectoryHandle;
  handle: FileSystemFileHandle;
  writer: FileSystemSyncAccessHandle;
}

const partName = (f: PackageFile) => `${f.sha256}.part`;
const stateName = (f: PackageFile) => `${f.sha256}.part.state`;

/** Opens the partial download and where it can resume; null when another tab holds it. */
async function openPart(
  dir: FileSystemDirectoryHandle,
  file: PackageFile,
): Promise<{ part: Part; offset: number; state?: Uint8Array } | null> {
  let writer: FileSystemSyncAccessHandle;
  let handle: FileSystemFileHandle;
  try {
    handle = await dir.getFileHandle(partName(file), { create: true });
    writer = await handle.createSyncAccessHandle();
  } catch {
    return null; // another tab or worker is downloading this file right now
  }
  let offset = 0;
  let state: Uint8Array | undefined;
  const saved = await fileIfExists(dir, stateName(file));
  if (saved && saved.size > 8) {
    const raw = new Uint8Array(await saved.arrayBuffer());
    const at = new DataView(raw.buffer).getFloat64(0, true);
    if (Number.isInteger(at) && at > 0 && at < file.bytes && at <= writer.getSize()) {
      offset = at;
      state = raw.slice(8);
    }
  }
  writer.truncate(offset); // bytes past the last saved state are fetched again
  return { part: { dir, handle, writer }, offset, state };
}

async function saveState(part: Part, file: PackageFile, offset: number, hash: Sha256): Promise<void> {
  part.writer.flush();
  const state = hash.save();
  const raw = new Uint8Array(8 + state.byteLength);
  new DataView(raw.buffer).setFloat64(0, offset, true);
  raw.set(state, 8);
  await writeSmallFile(part.dir, stateName(file), raw);
}

/** Stores the verified part under its hash, with the mark (copied by slices where renaming fails). */
async function keepVerified(part: Part, file: PackageFile): Promise<void> {
  part.writer.close();
  const { dir } = part;
  // Another tab or worker may have stored the same bytes meanwhile and be reading its copy right
  // now: a whole copy (marked, or whose hash matches) is kept, and this part dropped.
  const stored = await fileIfExists(dir, file.sha256);
  if (stored?.size === file.bytes) {
    const marked = (await fileIfExists(dir, `${file.sha256}.verified`)) !== null;
    if (marked || (await sha256OfBlob(stored).catch(() => '')) === file.sha256) {
      await removeEntry(dir, partName(file));
      await removeEntry(dir, stateName(file));
      if (!marked) await writeSmallFile(dir, `${file.sha256}.verified`, new Uint8Array(0));
      return;
    }
  }
  await removeEntry(dir, file.sha256);
  if (!(await renameFile(part.handle, file.sha256))) {
    await copyFile(await part.handle.getFile(), dir, file.sha256);
    await removeEntry(dir, partName(file));
  }
  await writeSmallFile(dir, `${file.sha256}.verified`, new Uint8Array(0));
  await removeEntry(dir, stateName(file));
}

/** Writes a stored file's copy under `name`, a slice at a time. */
async function copyFile(from: File, dir: FileSystemDirectoryHandle, name: string): Promise<void> {
  const w = await (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle();
  try {
    w.truncate(0);
    for (let at = 0; at < from.size; at += SLICE_BYTES)
      w.write(new Uint8Array(await from.slice(at, Math.min(from.size, at + SLICE_BYTES)).arrayBuffer()), {
        at,
      });
    w.flush();
  } finally {
    w.close();
  }
}

/**
 * Downloads one file (into OPFS when `dir` is given) and returns its verified bytes, or null when
 * it was stored in OPFS and `keep` is false: then the file is never whole in memory, only one
 * network chunk at a time (the caller reads the stored copy when it needs it).
 * Fails with `StallError` when nothing arrives for `stallMs`, `FetchError` on network or HTTP
 * failures, `IntegrityError` when the hash differs, and the signal's reason when aborted.
 */
export async function downloadFile(
  url: string,
  dir: FileSystemDirectoryHandle | null,
  file: PackageFile,
  onBytes: (loaded: number) => void,
  {
    signal,
    stallMs,
    keep = true,
    headersFor,
  }: {
    signal?: AbortSignal;
    stallMs: number;
    keep?: boolean;
    /** extra headers for the request to `url` (a hub token, for the hub's origin only) */
    headersFor?: (url: string) => Record<string, string>;
  },
): Promise<Uint8Array | null> {
  const opened = dir ? await openPart(dir, file) : null;
  const part = opened?.part ?? null;
  let offset = opened?.offset ?? 0;
  let hash: Sha256;
  try {
    hash = await createSha256(opened?.state);
  } catch {
    offset = 0; // a saved hash state this build cannot read: start over
    part?.writer.truncate(0);
    hash = await createSha256();
  }
  const watch = new StallWatch(stallMs, signal);
  const sofar = () => ` after ${offset} of ${file.bytes} bytes`;
  /** Turns a failure into what the caller is told, keeping what arrived for the next attempt. */
  const failure = async (err: unknown, what: string): Promise<unknown> => {
    if (part && offset > 0) await saveState(part, file, offset, hash).catch(() => undefined);
    if (signal?.aborted) return signal.reason ?? err;
    if (watch.stalled) return new StallError(file.path, stallMs, sofar());
    return new FetchError(`${what}: ${(err as Error).message}`, { cause: err });
  };
  const request = async (from: number): Promise<Response> => {
    try {
      const headers = { ...headersFor?.(url), ...(from > 0 ? { Range: `bytes=${from}-` } : {}) };
      return await fetch(url, { headers, signal: watch.signal });
    } catch (err) {
      throw await failure(err, `could not fetch ${url}`);
    }
  };
  const restart = async () => {
    offset = 0;
    part?.writer.truncate(0);
    hash = await createSha256();
  };
  try {
    onBytes(offset); // the file shows in the progress list while its server is still silent
    let response = await request(offset);
    const resumedAt = Number(/^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1] ?? NaN);
    if (
      offset > 0 &&
      (response.status === 416 ||
        response.status === 200 ||
        (response.status === 206 && resumedAt !== offset))
    ) {
      // The server cannot continue this part (or ignored the Range): start the file over.
      void response.body?.cancel().catch(() => undefined);
      await restart();
      response = await request(0);
    }
    if (!response.ok) throw new FetchError(`could not fetch ${url}: HTTP ${response.status}`);
    watch.kick();
    // without OPFS, or when asked to, the bytes are also gathered in memory
    const whole = keep || !part ? new Uint8Array(file.bytes) : null;
    if (whole && offset > 0 && part) readSync(part.writer, whole.subarray(0, offset), SLICE_BYTES);
    onBytes(offset);
    const reader = response.body!.getReader();
    let savedAt = offset;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw await failure(err, `the download of ${file.path} was interrupted${sofar()}`);
      }
      if (chunk.done) break;
      watch.kick();
      const value = chunk.value;
      if (offset + value.byteLength > file.bytes) {
        void reader.cancel().catch(() => undefined);
        await restart();
        throw new FetchError(`${file.path} is larger than the manifest says (${file.bytes} bytes)`);
      }
      whole?.set(value, offset);
      part?.writer.write(value, { at: offset });
      hash.update(value);
      offset += value.byteLength;
      if (part && offset - savedAt >= SAVE_STATE_EVERY) {
        await saveState(part, file, offset, hash);
        savedAt = offset;
      }
      onBytes(offset);
    }
    if (offset !== file.bytes) {
      if (part) await saveState(part, file, offset, hash).catch(() => undefined);
      throw new FetchError(`${file.path} ended${sofar()}`);
    }
    const actual = hash.hex();
    if (actual !== file.sha256) {
      await restart();
      if (dir) await removeEntry(dir, stateName(file));
      throw new IntegrityError(file.path, file.sha256, actual);
    }
    if (part) {
      const stored = await keepVerified(part, file).then(
        () => true,
        () => false,
      );
      // not stored after all: the caller gets the bytes from the part before it goes
      if (!stored && !whole) return readBlobBytes(await part.handle.getFile());
    }
    return whole;
  } finally {
    watch.stop();
    try {
      part?.writer.close();
    } catch {
      // already closed by keepVerified
    }
  }
}
