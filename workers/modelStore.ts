/**
 * Model package files in the browser: fetched once with byte progress, written to the Origin
 * Private File System as they arrive (so an interrupted download resumes with an HTTP Range
 * request), checked against their sha256 before use, and reused offline on later visits.
 *
 * Layout in OPFS: models/<key of the base URL>/<sha256>          verified files
 *                 models/<key of the base URL>/<sha256>.part     a download in progress
 *                 models/<key of the base URL>/manifest.json     the last manifest fetched
 */

export interface PackageFile {
  /** Path relative to the package's base URL. */
  path: string;
  bytes: number;
  sha256: string;
}

export interface Progress {
  file: string;
  loaded: number;
  total: number;
  totalLoaded: number;
  totalBytes: number;
}

export class IntegrityError extends Error {
  constructor(path: string, expected: string, actual: string) {
    super(`${path} is corrupt: its sha256 is ${actual.slice(0, 12)}…, the manifest says ${expected.slice(0, 12)}…`);
    this.name = 'IntegrityError';
  }
}

/** A package file or manifest that could not be downloaded (network, HTTP status, cut short). */
export class FetchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FetchError';
  }
}

export function resolveUrl(baseUrl: string, path: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return new URL(path, new URL(base, self.location.href)).href;
}

export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<string> {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function storageKey(baseUrl: string): Promise<string> {
  return (await sha256Hex(new TextEncoder().encode(resolveUrl(baseUrl, '')))).slice(0, 24);
}

async function modelsRoot(): Promise<FileSystemDirectoryHandle | null> {
  try {
    const root = await navigator.storage.getDirectory();
    return await root.getDirectoryHandle('models', { create: true });
  } catch {
    return null; // no OPFS (e.g. a private window): download every time, keep nothing
  }
}

async function packageDir(baseUrl: string): Promise<FileSystemDirectoryHandle | null> {
  const root = await modelsRoot();
  return root ? root.getDirectoryHandle(await storageKey(baseUrl), { create: true }) : null;
}

async function fileIfExists(dir: FileSystemDirectoryHandle, name: string): Promise<File | null> {
  try {
    return await (await dir.getFileHandle(name)).getFile();
  } catch {
    return null;
  }
}

async function removeEntry(dir: FileSystemDirectoryHandle, name: string): Promise<void> {
  await dir.removeEntry(name).catch(() => undefined);
}

async function storeVerified(dir: FileSystemDirectoryHandle, name: string, bytes: Uint8Array): Promise<void> {
  const handle = await dir.getFileHandle(name, { create: true });
  const w = await handle.createSyncAccessHandle();
  try {
    w.truncate(0);
    w.write(bytes, { at: 0 });
    w.flush();
  } finally {
    w.close();
  }
}

/**
 * Returns a file's verified bytes, from OPFS when present, else downloaded (resuming a partial
 * download when the server honours Range).
 */
async function loadFile(
  baseUrl: string,
  dir: FileSystemDirectoryHandle | null,
  file: PackageFile,
  onBytes: (loaded: number) => void,
  signal?: AbortSignal,
  verifyCached = true,
): Promise<Uint8Array> {
  if (dir) {
    const cached = await fileIfExists(dir, file.sha256);
    if (cached && cached.size === file.bytes) {
      const bytes = new Uint8Array(await cached.arrayBuffer());
      if (!verifyCached || (await sha256Hex(bytes)) === file.sha256) {
        onBytes(file.bytes);
        return bytes;
      }
      await removeEntry(dir, file.sha256);
    }
  }
  const url = resolveUrl(baseUrl, file.path);
  const partName = `${file.sha256}.part`;
  let writer: FileSystemSyncAccessHandle | null = null;
  let offset = 0;
  if (dir) {
    try {
      const handle = await dir.getFileHandle(partName, { create: true });
      writer = await handle.createSyncAccessHandle();
      offset = writer.getSize();
      if (offset >= file.bytes) {
        writer.truncate(0);
        offset = 0;
      }
    } catch {
      // Another tab or worker is downloading this file right now: fetch it without storing.
      writer = null;
      dir = null;
    }
  }
  try {
    const headers: HeadersInit = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    let response: Response;
    try {
      response = await fetch(url, { headers, signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new FetchError(`could not fetch ${url}: ${(err as Error).message}`, { cause: err });
    }
    if (response.status === 200 && offset > 0 && writer) {
      writer.truncate(0); // the server ignored Range: start over
      offset = 0;
    } else if (!response.ok) {
      throw new FetchError(`could not fetch ${url}: HTTP ${response.status}`);
    }
    const whole = new Uint8Array(file.bytes);
    if (offset > 0 && writer) writer.read(whole.subarray(0, offset), { at: 0 });
    onBytes(offset);
    const reader = response.body!.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (signal?.aborted) throw err;
        writer?.flush(); // keep what arrived: the next attempt asks only for the rest
        throw new FetchError(`the download of ${file.path} was interrupted after ${offset} of ${file.bytes} bytes (${(err as Error).message})`, { cause: err });
      }
      const { done, value } = chunk;
      if (done) break;
      if (offset + value.byteLength > file.bytes) throw new Error(`${file.path} is larger than the manifest says`);
      whole.set(value, offset);
      writer?.write(value, { at: offset });
      offset += value.byteLength;
      onBytes(offset);
    }
    writer?.flush();
    if (offset !== file.bytes) throw new FetchError(`${file.path} ended after ${offset} of ${file.bytes} bytes`);
    const actual = await sha256Hex(whole);
    if (actual !== file.sha256) {
      writer?.truncate(0);
      throw new IntegrityError(file.path, file.sha256, actual);
    }
    if (dir && writer) {
      writer.close();
      writer = null;
      await storeVerified(dir, file.sha256, whole).catch(() => undefined); // cached next time, or not
      await removeEntry(dir, partName);
    }
    return whole;
  } finally {
    writer?.close();
  }
}

/** Keeps the package's manifest text, so the package opens offline next time. */
export async function storeManifest(baseUrl: string, text: string): Promise<void> {
  const dir = await packageDir(baseUrl);
  if (dir) await storeVerified(dir, 'manifest.json', new TextEncoder().encode(text)).catch(() => undefined);
}

/** The manifest text kept by `storeManifest`, if any. */
export async function storedManifest(baseUrl: string): Promise<string | null> {
  const dir = await packageDir(baseUrl);
  const file = dir ? await fileIfExists(dir, 'manifest.json') : null;
  return file ? file.text() : null;
}

/**
 * Loads every listed file of a package, reporting progress per file and in total. Stored files
 * are hashed again before use unless `verifyCached` is false (a file this worker verified
 * earlier in the same session: re-reading a released graph).
 */
export async function loadPackageFiles(
  baseUrl: string,
  files: readonly PackageFile[],
  onProgress: (p: Progress) => void,
  signal?: AbortSignal,
  verifyCached = true,
): Promise<Map<string, Uint8Array>> {
  const dir = await packageDir(baseUrl);
  const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
  let done = 0;
  const out = new Map<string, Uint8Array>();
  for (const file of files) {
    signal?.throwIfAborted();
    const bytes = await loadFile(
      baseUrl,
      dir,
      file,
      (loaded) => onProgress({ file: file.path, loaded, total: file.bytes, totalLoaded: done + loaded, totalBytes }),
      signal,
      verifyCached,
    );
    done += file.bytes;
    out.set(file.path, bytes);
  }
  return out;
}

/** Bytes stored per package (verified files and partial downloads). */
export async function cachedPackages(): Promise<{ key: string; bytes: number }[]> {
  const root = await modelsRoot();
  if (!root) return [];
  const result: { key: string; bytes: number }[] = [];
  for await (const [key, handle] of root.entries()) {
    if (handle.kind !== 'directory') continue;
    let bytes = 0;
    for await (const [, entry] of (handle as FileSystemDirectoryHandle).entries()) {
      if (entry.kind === 'file') bytes += (await (entry as FileSystemFileHandle).getFile()).size;
    }
    result.push({ key, bytes });
  }
  return result;
}

export async function cachedBytesFor(baseUrl: string): Promise<number> {
  const key = await storageKey(baseUrl);
  return (await cachedPackages()).find((p) => p.key === key)?.bytes ?? 0;
}

export async function clearCache(): Promise<void> {
  const root = await navigator.storage.getDirectory().catch(() => null);
  await root?.removeEntry('models', { recursive: true }).catch(() => undefined);
}
