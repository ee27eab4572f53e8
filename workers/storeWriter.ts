/**
 * The converter's output in the browser: a `PackageWriter` into a job folder of the Origin
 * Private File System outside the model store (`converting/<job>/files/<package path>`), so a
 * package being written is never listed, counted or opened. Writes go through sync access
 * handles (a few kept open, as the converter writes a graph's files in turn). The conversion
 * (convertCheckpoint.ts) then moves each finished file into the model store, or removes the job
 * folder on a failure or cancel.
 */
import type { PackageWriter } from '../src/engine/internal';

/** Bytes read back at a time (the manifest's digests). */
const READ_BLOCK_BYTES = 4 << 20;
const MAX_OPEN_HANDLES = 8;

export const CONVERTING_DIR = 'converting';

export interface StoreWriter extends PackageWriter {
  /** The job folder (`converting/<job>`). */
  readonly job: FileSystemDirectoryHandle;
  /** A written file as a `File` (after `closeAll`). */
  file(path: string): Promise<File>;
  /** Its handle, to be moved into the model store. */
  handle(path: string): Promise<FileSystemFileHandle>;
  /** Bytes written so far through this writer (files and ranges). */
  readonly written: number;
  closeAll(): void;
}

function parts(path: string): string[] {
  const p = path.split('/');
  if (path.startsWith('/') || p.some((x) => x === '' || x === '.' || x === '..'))
    throw new Error(`package path ${JSON.stringify(path)} leaves the package folder`);
  return p;
}

export async function createStoreWriter(
  job: FileSystemDirectoryHandle,
  onWrite: (path: string, offset: number, length: number) => void,
): Promise<StoreWriter> {
  const root = await job.getDirectoryHandle('files', { create: true });
  const handles = new Map<string, FileSystemSyncAccessHandle>();
  let written = 0;
  const fileHandle = async (path: string, create: boolean) => {
    const p = parts(path);
    let dir = root;
    for (const d of p.slice(0, -1)) dir = await dir.getDirectoryHandle(d, { create });
    return dir.getFileHandle(p.at(-1)!, { create });
  };
  /** Flushes and closes every open handle; each is closed even when a flush fails (then that failure is thrown). */
  const closeAll = () => {
    let failure: unknown = null;
    for (const h of handles.values()) {
      try {
        h.flush();
      } catch (err) {
        failure ??= err;
      }
      h.close();
    }
    handles.clear();
    if (failure) throw failure;
  };
  const sync = async (path: string) => {
    let h = handles.get(path);
    if (!h) {
      if (handles.size >= MAX_OPEN_HANDLES) closeAll();
      h = await (await fileHandle(path, false)).createSyncAccessHandle();
      handles.set(path, h);
    }
    return h;
  };
  const writeAll = (h: FileSystemSyncAccessHandle, bytes: Uint8Array, at: number) => {
    for (let done = 0; done < bytes.byteLength;) {
      const n = h.write(bytes.subarray(done), { at: at + done });
      if (n <= 0) throw new DOMException('the storage took no more bytes', 'QuotaExceededError');
      done += n;
    }
  };
  return {
    job,
    get written() {
      return written;
    },
    closeAll,
    async writeFile(path, bytes) {
      await fileHandle(path, true);
      const h = await sync(path);
      h.truncate(0);
      writeAll(h, bytes, 0);
      written += bytes.byteLength;
      onWrite(path, 0, bytes.byteLength);
    },
    async createFile(path, size) {
      await fileHandle(path, true);
      const h = await sync(path);
      h.truncate(0); // zeros throughout, also over what an interrupted run left
      h.truncate(size);
    },
    async writeAt(path, offset, bytes) {
      const h = await sync(path);
      writeAll(h, bytes, offset);
      written += bytes.byteLength;
      onWrite(path, offset, bytes.byteLength);
    },
    async *readBlocks(path, signal) {
      // one buffer for the whole file, each block valid until the next is asked for (as on node):
      // a new ArrayBuffer per block left 3.3 GB of garbage to the collector at full size
      const h = await sync(path); // reads what was written through it, flushed or not
      const buf = new Uint8Array(READ_BLOCK_BYTES);
      for (let at = 0; ;) {
        signal?.throwIfAborted();
        const n = h.read(buf, { at });
        if (n <= 0) return;
        yield buf.subarray(0, n);
        at += n;
      }
    },
    async size(path) {
      const h = handles.get(path);
      if (h) return h.getSize();
      return (await (await fileHandle(path, false)).getFile()).size;
    },
    async file(path) {
      return (await fileHandle(path, false)).getFile();
    },
    handle(path) {
      return fileHandle(path, false);
    },
  };
}
