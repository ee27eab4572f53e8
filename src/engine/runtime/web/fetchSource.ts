/**
 * A page's file source without any store: each file fetched from the package URL into memory and
 * checked against the manifest (size, then sha256 with WebCrypto) before the runtime sees it.
 * Fits packages that fit in memory twice over; the app's worker keeps large ones in OPFS instead.
 */
import { EditError } from '../../errors';
import type { LoadProgress } from '../../editor';
import { responseManifest } from '../../manifest';
import type { ManifestFile, RawManifest } from '../../manifest';
import type { FileSource } from '../../package';

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/** `base` with one trailing slash, so relative file paths resolve inside it. */
export function packageBase(url: string): string {
  const base = new URL(url, globalThis.location?.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base.href;
}

async function fetchChecked(
  base: string,
  f: ManifestFile,
  onBytes: (n: number) => void,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const url = new URL(f.path, base).href;
  const response = await fetch(url, { signal });
  if (!response.ok || !response.body)
    throw new EditError('bad-manifest', `cannot fetch model file ${url}: HTTP ${response.status}`);
  const out = new Uint8Array(f.bytes);
  let at = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > f.bytes) {
      await reader.cancel();
      throw new EditError(
        'checksum-mismatch',
        `model file ${f.path} is larger than the manifest's ${f.bytes} bytes`,
      );
    }
    out.set(value, at);
    at += value.length;
    onBytes(value.length);
  }
  if (at !== f.bytes)
    throw new EditError(
      'checksum-mismatch',
      `model file ${f.path} has ${at} bytes, the manifest says ${f.bytes}`,
    );
  const sha = hex(await crypto.subtle.digest('SHA-256', out));
  if (sha !== f.sha256)
    throw new EditError(
      'checksum-mismatch',
      `model file ${f.path} has sha256 ${sha.slice(0, 12)}…, the manifest says ${f.sha256.slice(0, 12)}…`,
    );
  return out;
}

/**
 * The package's manifest.json response as it came (the opener reads it once, with its cap and
 * checks); an HTTP error is refused here.
 */
export async function fetchManifestResponse(
  url: string,
  init: RequestInit = {},
): Promise<RawManifest & { readonly response: Response }> {
  const response = await fetch(url, init);
  if (!response.ok) {
    void response.body?.cancel().catch(() => undefined);
    throw new EditError('bad-manifest', `cannot fetch ${url}: HTTP ${response.status}`);
  }
  return { ...responseManifest(url, response), response };
}

/**
 * Files of the package at `baseUrl`, fetched and verified by `prepare`, handed over as bytes;
 * progress goes to `onProgress`, else to the opener's.
 */
export function fetchSource(baseUrl: string, onProgress?: (p: LoadProgress) => void): FileSource<Uint8Array> {
  const base = packageBase(baseUrl);
  const held = new Map<string, Uint8Array>();
  const fetched = (f: ManifestFile) => {
    const bytes = held.get(f.path);
    if (!bytes) throw new Error(`model file ${f.path} was not prepared`);
    return bytes;
  };
  return {
    manifest: (signal) => fetchManifestResponse(new URL('manifest.json', base).href, { signal }),
    async prepare(files, signal, openerProgress) {
      const progress = onProgress ?? openerProgress;
      const total = files.reduce((s, f) => s + f.bytes, 0);
      let loaded = 0;
      for (const f of files) {
        if (held.has(f.path)) {
          loaded += f.bytes;
          continue;
        }
        progress?.({ file: f.path, loaded, total });
        held.set(
          f.path,
          await fetchChecked(
            base,
            f,
            (n) => ((loaded += n), progress?.({ file: f.path, loaded, total })),
            signal,
          ),
        );
      }
      progress?.({ loaded, total });
    },
    read: (f, range) => Promise.resolve(range ? fetched(f).subarray(range.start, range.end) : fetched(f)),
    // kept: a graph released between prompts is reopened from these bytes
    graphData: (f) => Promise.resolve(fetched(f)),
  };
}
