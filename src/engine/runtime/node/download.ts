/**
 * Package downloads for the CLI: URLs are streamed with a byte limit and a stall timeout, and a
 * download lands under its final name only once its size and sha256 match, so a partial file is
 * never taken for a good one.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { formatBytes, ReadError, tempName } from './localFiles';

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
  try {
    if (!res.ok) throw new ReadError(`cannot download the ${what} ${url}: HTTP ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > max)
      throw new ReadError(`the ${what} ${url} is ${formatBytes(declared)}; the limit is ${formatBytes(max)}`);
    if (!res.body) return 0;
    const reader = res.body.getReader();
    let received = 0;
    for (;;) {
      const chunk = await nextChunk(reader, url, received);
      if (!chunk) return received;
      received += chunk.byteLength;
      if (received > max) throw new ReadError(`the ${what} ${url} is over ${formatBytes(max)}, the limit`);
      await sink(chunk);
    }
  } catch (err) {
    ac.abort();
    throw err;
  }
}

/** A URL's whole body, at most `max` bytes. */
export async function fetchBounded(url: string, max: number, what: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  await streamUrl(url, max, what, (c) => void chunks.push(c));
  return Buffer.concat(chunks);
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
): Promise<void> {
  mkdirSync(dirname(to), { recursive: true });
  removeStaleParts(to);
  const tmp = tempName(to);
  const file = await open(tmp, 'wx');
  const hash = createHash('sha256');
  try {
    const got = await streamUrl(url, expect.bytes, expect.path, async (chunk) => {
      hash.update(chunk);
      await file.write(chunk);
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
