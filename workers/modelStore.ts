/**
 * Model package files in the browser: fetched once with byte progress, hashed as they arrive,
 * written to the Origin Private File System as they arrive (so an interrupted download resumes
 * with an HTTP Range request), and reused offline on later visits.
 *
 * Layout in OPFS: models/<key of the base URL>/<sha256>              a stored file
 *                 models/<key of the base URL>/<sha256>.verified     its mark: the hash matched
 *                 models/<key of the base URL>/<sha256>.part         a download in progress
 *                 models/<key of the base URL>/<sha256>.part.state   how far the part is hashed
 *                 models/<key of the base URL>/manifest.json         the last manifest fetched
 * A stored file without its mark (cut off while stored, or stored before marks existed) is hashed
 * again, by slices, before it is used: a half-written file is never taken for a good one.
 */
import { readBlobBytes, sha256Hex, sha256OfBlob } from './blobReader';
import { DEFAULT_STALL_MS, FetchError } from './download';
import { downloadFile } from './fileDownload';
import { fileIfExists, writeSmallFile } from './opfs';

export { FetchError, StallError } from './download';
export { IntegrityError } from './fileDownload';

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

export interface LoadOptions {
  signal?: AbortSignal;
  /** A download that receives nothing for this long fails (default `DEFAULT_STALL_MS`). */
  stallMs?: number;
  /** Extra headers for a request to `url` (a gated hub repository's token, for its origin only). */
  headersFor?: (url: string) => Record<string, string>;
}

/** The browser's storage quota cannot hold what a package still needs. */
export class StorageError extends FetchError {
  constructor(message: string) {
    super(message);
    this.name = 'StorageError';
  }
}

export function resolveUrl(baseUrl: string, path: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return new URL(path, new URL(base, self.location.href)).href;
}

export const verifiedMark = (sha256: string) => `${sha256}.verified`;

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

export async function packageDir(baseUrl: string): Promise<FileSystemDirectoryHandle | null> {
  const root = await modelsRoot();
  return root ? root.getDirectoryHandle(await storageKey(baseUrl), { create: true }) : null;
}

/** The stored copy of a file when it is whole and its hash is known to match; else null. */
async function storedFile(dir: FileSystemDirectoryHandle, file: PackageFile): Promise<File | null> {
  const stored = await fileIfExists(dir, file.sha256);
  if (!stored || stored.size !== file.bytes) return null;
  if (await fileIfExists(dir, verifiedMark(file.sha256))) return stored;
  if ((await sha256OfBlob(stored)) !== file.sha256) {
    await dir.removeEntry(file.sha256).catch(() => undefined);
    return null;
  }
  await writeSmallFile(dir, verifiedMark(file.sha256), new Uint8Array(0)).catch(() => undefined);
  return stored;
}

/**
 * The stored copy of a file just downloaded and stored. Another tab or worker storing the same
 * file can hold its name for a moment (between replacing and renaming), so a missing copy is
 * looked for again a few times before giving up.
 */
async function storedAfterDownload(dir: FileSystemDirectoryHandle, file: PackageFile): Promise<File | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const stored = await storedFile(dir, file);
    if (stored) return stored;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

/** Bytes still to download for these files (stored ones and partial downloads subtracted). */
async function bytesToDownload(
  dir: FileSystemDirectoryHandle,
  files: readonly PackageFile[],
): Promise<number> {
  let needed = 0;
  for (const f of files) {
    const stored = await fileIfExists(dir, f.sha256);
    if (stored?.size === f.bytes) continue;
    const part = await fileIfExists(dir, `${f.sha256}.part`);
    needed += f.bytes - Math.min(part?.size ?? 0, f.bytes);
  }
  return needed;
}

function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** Refuses a download the browser's quota cannot hold, before any of it starts. */
export async function checkStorage(
  dir: FileSystemDirectoryHandle,
  files: readonly PackageFile[],
): Promise<void> {
  const needed = await bytesToDownload(dir, files);
  if (needed === 0) return;
  const estimate = await navigator.storage.estimate().catch(() => null);
  const free =
    estimate?.quota !== undefined && estimate.usage !== undefined
      ? estimate.quota - estimate.usage
      : Infinity;
  if (needed > free) {
    throw new StorageError(
      `Not enough storage for this model: it needs ${formatBytes(needed)} more, and this browser lets the app store ${formatBytes(Math.max(0, free))}. ` +
        'Clear the model cache (or other sites’ data), free disk space, or choose a smaller package.',
    );
  }
}

/** Keeps the package's manifest text, so the package opens offline next time. */
export async function storeManifest(baseUrl: string, text: string): Promise<void> {
  const dir = await packageDir(baseUrl);
  if (dir) await writeSmallFile(dir, 'manifest.json', new TextEncoder().encode(text)).catch(() => undefined);
}

/** The manifest text kept by `storeManifest`, if any. */
export async function storedManifest(baseUrl: string): Promise<string | null> {
  const dir = await packageDir(baseUrl);
  const file = dir ? await fileIfExists(dir, 'manifest.json') : null;
  return file ? file.text() : null;
}

/**
 * A package file made ready: its stored, verified copy in OPFS (read by whoever needs it, by
 * slices or by the runtime), or its bytes where nothing could be stored (no OPFS).
 */
export type ReadyFile = { readonly file: File } | { readonly bytes: Uint8Array };

/**
 * Makes every listed file of a package ready, reporting progress per file and in total: a
 * stored, verified file is used as it is (no read, no hashing again); any other is downloaded,
 * hashed while it arrives, and stored, without the whole file ever being in memory.
 */
export async function preparePackageFiles(
  baseUrl: string,
  files: readonly PackageFile[],
  onProgress: (p: Progress) => void,
  options: LoadOptions = {},
): Promise<Map<string, ReadyFile>> {
  const { signal, stallMs = DEFAULT_STALL_MS, headersFor } = options;
  const dir = await packageDir(baseUrl);
  const lockKey = dir ? `editmgt-model-store/${await storageKey(baseUrl)}` : null;
  if (dir) await checkStorage(dir, files);
  const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
  let done = 0;
  const out = new Map<string, ReadyFile>();
  for (const file of files) {
    signal?.throwIfAborted();
    const onBytes = (loaded: number) =>
      onProgress({ file: file.path, loaded, total: file.bytes, totalLoaded: done + loaded, totalBytes });
    const fetchAndStore = async (afterWait: boolean): Promise<ReadyFile> => {
      // looked for again: another tab or worker may have stored it while this one waited
      const stored = afterWait && dir ? await storedFile(dir, file) : null;
      if (stored) {
        onBytes(file.bytes);
        return { file: stored };
      }
      const url = resolveUrl(baseUrl, file.path);
      const bytes = await downloadFile(url, dir, file, onBytes, {
        signal,
        stallMs,
        keep: false,
        headersFor,
      });
      const kept = bytes ? null : dir && (await storedAfterDownload(dir, file));
      const ready = bytes ? { bytes } : kept ? { file: kept } : null;
      if (!ready) throw new FetchError(`${file.path} was downloaded but cannot be read back from storage`);
      return ready;
    };
    const stored = dir ? await storedFile(dir, file) : null;
    let ready: ReadyFile;
    if (stored) {
      ready = { file: stored };
      onBytes(file.bytes);
    } else if (dir && lockKey && typeof navigator.locks?.request === 'function') {
      // One tab or worker at a time downloads and stores a file: a second one waits here and
      // then takes the stored copy (two writers of one part, or a rename under a reader, lose).
      ready = await navigator.locks.request(`${lockKey}/${file.sha256}`, { signal }, () =>
        fetchAndStore(true),
      );
    } else {
      ready = await fetchAndStore(false);
    }
    done += file.bytes;
    out.set(file.path, ready);
  }
  return out;
}

/** A ready file's bytes, whole (a stored one read by slices: files of 2 GiB or more too). */
export async function readyBytes(ready: ReadyFile): Promise<Uint8Array> {
  return 'bytes' in ready ? ready.bytes : readBlobBytes(ready.file);
}

/** Every listed file's bytes, whole (small files and diagnostics; graphs go by `preparePackageFiles`). */
export async function loadPackageFiles(
  baseUrl: string,
  files: readonly PackageFile[],
  onProgress: (p: Progress) => void,
  options: LoadOptions = {},
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const [path, ready] of await preparePackageFiles(baseUrl, files, onProgress, options))
    out.set(path, await readyBytes(ready));
  return out;
}

/** What a package opened from a folder keeps beside its files: its key and name (written last). */
export const LOCAL_ORIGIN = 'local.json';

/** Removes a package's stored files (an import that failed part way). */
export async function removePackage(baseUrl: string): Promise<void> {
  const root = await modelsRoot();
  await root?.removeEntry(await storageKey(baseUrl), { recursive: true }).catch(() => undefined);
}

/** Bytes stored per package (files, marks and partial downloads); a folder's package with its key and name. */
export async function cachedPackages(): Promise<
  { key: string; bytes: number; local?: { url: string; name: string } }[]
> {
  const root = await modelsRoot();
  if (!root) return [];
  const result: { key: string; bytes: number; local?: { url: string; name: string } }[] = [];
  for await (const [key, handle] of root.entries()) {
    if (handle.kind !== 'directory') continue;
    let bytes = 0;
    for await (const [, entry] of (handle as FileSystemDirectoryHandle).entries()) {
      if (entry.kind !== 'file') continue;
      // a file removed while we list (a finished download's part, another tab's clean-up) counts nothing
      const file = await (entry as FileSystemFileHandle).getFile().catch(() => null);
      bytes += file?.size ?? 0;
    }
    const origin = await fileIfExists(handle as FileSystemDirectoryHandle, LOCAL_ORIGIN);
    const local = origin
      ? ((await origin.text().then(JSON.parse, () => null)) as { url: string; name: string } | null)
      : null;
    result.push(local ? { key, bytes, local } : { key, bytes });
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
