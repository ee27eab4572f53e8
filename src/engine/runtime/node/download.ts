/**
 * Package downloads for the CLI and the library: before any file is fetched, each file's declared
 * size is held to MAX_PACKAGE_FILE_BYTES and the cache's disk must hold what is still to come;
 * URLs are streamed with a byte limit and a stall timeout, and a download lands under its final
 * name only once its size and sha256 match, so a partial file is never taken for a good one.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statfsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { MAX_PACKAGE_FILE_BYTES, responseManifest } from '../../manifest';
import type { ManifestFile, RawManifest } from '../../manifest';
import { formatBytes, ReadError, tempName } from './localFiles';

export { MAX_PACKAGE_FILE_BYTES };

/** Space left free on the cache's disk beyond the files still to download. */
export const FREE_SPACE_MARGIN_BYTES = 256 * 2 ** 20;

/** The cache folder for packages given by URL: `cacheDir`, else `$EDITMGT_CACHE`, else ~/.cache/editmgt-web. */
export function cacheRoot(cacheDir?: string): string {
  return resolve(cacheDir || process.env['EDITMGT_CACHE'] || join(homedir(), '.cache', 'editmgt-web'));
}

/** Bytes free for this process on the file system that holds `path` (or its nearest existing folder). */
export function freeBytes(path: string): number {
  let p = resolve(path);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  const s = statfsSync(p);
  return s.bavail * s.bsize;
}

/**
 * Refuses a download of `needed` bytes into `dir` when its disk has less free than that plus
 * FREE_SPACE_MARGIN_BYTES; `what` names what would be downloaded.
 */
export function checkFreeSpace(dir: string, needed: number, what: string): void {
  if (needed <= 0) return;
  const free = freeBytes(dir);
  if (needed + FREE_SPACE_MARGIN_BYTES <= free) return;
  throw new ReadError(
    `not enough disk space for ${what}: ${formatBytes(needed)} to download into ${dir} (and ${formatBytes(FREE_SPACE_MARGIN_BYTES)} kept free), but its disk has ${formatBytes(free)} free; free some space or choose another cache folder (--cache-dir, or EDITMGT_CACHE)`,
  );
}

/**
 * The preflight before a package's files are downloaded into `dir`: no file declared over
 * MAX_PACKAGE_FILE_BYTES, and room on the disk for the files not yet there (a file of its
 * declared size counts as there; its sha256 is checked when it is used).
 */
export function checkDownloadSpace(dir: string, files: readonly ManifestFile[]): void {
  const tooBig = files.find((f) => f.bytes > MAX_PACKAGE_FILE_BYTES);
  if (tooBig)
    throw new ReadError(
      `model file ${tooBig.path} is declared as ${formatBytes(tooBig.bytes)}; a package file may be at most ${formatBytes(MAX_PACKAGE_FILE_BYTES)}`,
    );
  const missing = files.filter((f) => {
    const path = join(dir, f.path);
    return !(existsSync(path) && statSync(path).size === f.bytes);
  });
  const needed = missing.reduce((s, f) => s + f.bytes, 0);
  const largest = missing.reduce<ManifestFile | undefined>(
    (a, f) => (a && a.bytes >= f.bytes ? a : f),
    undefined,
  );
  checkFreeSpace(
    dir,
    needed,
    `the model package (${missing.length} file${missing.length === 1 ? '' : 's'}, the largest ${largest?.path} at ${formatBytes(largest?.bytes ?? 0)})`,
  );
}

/** Seconds without a byte after which a download is given up, unless EDITMGT_STALL_SECONDS says otherwise. */
export const DEFAULT_STALL_SECONDS = 30;

export function stallMs(): number {
  const s = Number(process.env['EDITMGT_STALL_SECONDS'] ?? DEFAULT_STALL_SECONDS);
  return (Number.isFinite(s) && s > 0 ? s : DEFAULT_STALL_SECONDS) * 1000;
}

/** One body chunk, or a ReadError when none comes within the stall timeout. */
async function nextChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  url: string,
  received: number,
): Promise<Uint8Array | undefined> {
  const ms = stallMs();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ReadError(
            `the download of ${url} stalled: no data for ${ms / 1000} s after ${formatBytes(received)}`,
          ),
        ),
      ms,
    );
  });
  try {
    const r = await Promise.race([reader.read(), stalled]);
    return r.done ? undefined : r.value;
  } catch (err) {
    if (err instanceof ReadError) throw err;
    const why = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    throw new ReadError(`the download of ${url} broke off after ${formatBytes(received)} (${why})`);
  } finally {
    clearTimeout(timer);
  }
}

/** A URL's answer, its body read chunk by chunk, each read given up when the server goes quiet. */
interface OpenedUrl {
  readonly response: Response;
  /** The next chunk, or undefined at the end. */
  next(): Promise<Uint8Array | undefined>;
  /** Closes the connection. */
  close(): void;
}

/** Opens `url`, refusing an HTTP error and a server that does not answer within the stall time. */
async function openUrl(url: string, what: string): Promise<OpenedUrl> {
  const ac = new AbortController();
  const ms = stallMs();
  const timer = setTimeout(() => ac.abort(), ms);
  let res: Response;
  try {
    res = await fetch(url, { signal: ac.signal });
  } catch (err) {
    const why = ac.signal.aborted
      ? `no answer within ${ms / 1000} s`
      : (((err as Error).cause as Error | undefined)?.message ?? (err as Error).message);
    throw new ReadError(`cannot download the ${what} ${url}: ${why}`);
  } finally {
    clearTimeout(timer);
  }
  if (!res.ok) {
    ac.abort();
    throw new ReadError(`cannot download the ${what} ${url}: HTTP ${res.status}`);
  }
  const reader = res.body?.getReader();
  let received = 0;
  return {
    response: res,
    async next() {
      const chunk = reader && (await nextChunk(reader, url, received));
      if (chunk) received += chunk.byteLength;
      return chunk;
    },
    close: () => ac.abort(),
  };
}

/**
 * Streams a URL's body chunk by chunk into `sink`, refusing more than `max` bytes and giving up
 * when the server goes quiet. The connection is closed on any failure.
 */
async function streamUrl(
  url: string,
  max: number,
  what: string,
  sink: (chunk: Uint8Array) => Promise<void> | void,
): Promise<number> {
  const body = await openUrl(url, what);
  try {
    const declared = Number(body.response.headers.get('content-length') ?? NaN);
    if (declared > max)
      throw new ReadError(`the ${what} ${url} is ${formatBytes(declared)}; the limit is ${formatBytes(max)}`);
    let received = 0;
    for (;;) {
      const chunk = await body.next();
      if (!chunk) return received;
      received += chunk.byteLength;
      if (received > max) throw new ReadError(`the ${what} ${url} is over ${formatBytes(max)}, the limit`);
      await sink(chunk);
    }
  } catch (err) {
    body.close();
    throw err;
  }
}

/**
 * A package's manifest.json at `url` as the server answers it (the opener reads it, with the
 * manifest's cap and checks); its body's reads give up when the server goes quiet.
 */
export async function fetchManifestRaw(url: string): Promise<RawManifest> {
  const body = await openUrl(url, 'manifest');
  return responseManifest(url, body.response, {
    getReader: () => ({
      read: async () => {
        const value = await body.next().catch((err: unknown) => {
          body.close();
          throw err;
        });
        return value ? { done: false, value } : { done: true };
      },
      cancel: () => Promise.resolve(body.close()),
    }),
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes partial downloads of `to` left by processes that were killed (a full-size graph is GBs). */
function removeStaleParts(to: string): void {
  const prefix = `${basename(to)}.`;
  for (const name of readdirSync(dirname(to))) {
    const pid = /^(\d+)-[0-9a-f]+\.part$/.exec(name.slice(prefix.length))?.[1];
    if (name.startsWith(prefix) && pid && !isRunning(Number(pid)))
      rmSync(join(dirname(to), name), { force: true });
  }
}

/**
 * Downloads one package file to `to`: streamed to a temporary file, its size and sha256 checked
 * as it arrives, renamed into place only when both match the manifest.
 */
export async function downloadFile(
  url: string,
  to: string,
  expect: { path: string; bytes: number; sha256: string },
  maxBytes = MAX_PACKAGE_FILE_BYTES,
): Promise<void> {
  mkdirSync(dirname(to), { recursive: true });
  removeStaleParts(to);
  const tmp = tempName(to);
  const file = await open(tmp, 'wx');
  const hash = createHash('sha256');
  try {
    const got = await streamUrl(url, Math.min(expect.bytes, maxBytes), expect.path, async (chunk) => {
      hash.update(chunk);
      await file.write(chunk).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOSPC') throw err;
        throw new ReadError(`the disk holding ${dirname(to)} is full; ${expect.path} could not be written`);
      });
    });
    await file.close();
    if (got !== expect.bytes)
      throw new ReadError(
        `the download of ${expect.path} ended after ${formatBytes(got)} of ${formatBytes(expect.bytes)}`,
      );
    const sha = hash.digest('hex');
    if (sha !== expect.sha256)
      throw new ReadError(
        `model file ${expect.path} downloaded with sha256 ${sha.slice(0, 12)}…, the manifest says ${expect.sha256.slice(0, 12)}…`,
      );
    renameSync(tmp, to);
  } catch (err) {
    await file.close().catch(() => undefined);
    rmSync(tmp, { force: true });
    throw err;
  }
}
