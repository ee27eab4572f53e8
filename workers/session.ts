/**
 * The loaded model in the worker: `Editor.open` (the engine's package opener) with the worker's
 * two adapters: the model store as package source (its manifest from the network, or the copy
 * kept for offline use) and onnxruntime-web as graph runtime. One model at a time.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Editor, NotAManifestError } from '../src/engine/index';
import type { Dtype, FileSource, ManifestFile, OpenedPackage, RawManifest } from '../src/engine/index';
import { wasmVerifyRuntime, webRuntime } from '../src/engine/runtime/web/index';
import type { OrtWebRunner } from '../src/engine/runtime/web/index';
import { responseManifest } from '../src/engine/internal';
import type { RuntimeOptions } from '../src/engine/internal';
import { hubHeaders, webGpuStepOptions } from '../src/engine/runtime/web/internal';
import type { BackendInfo, EditSettings, HubAuth } from '../src/protocol/messages';
import { isLocalPackageUrl, localPackageName } from '../src/protocol/localPackage';
import { WHOLE_READ_LIMIT } from './blobReader';
import { DEFAULT_STALL_MS, StallWatch } from './download';
import {
  FetchError,
  preparePackageFiles,
  readyBytes,
  resolveUrl,
  storeManifest,
  storedManifest,
} from './modelStore';
import type { LoadOptions, Progress, ReadyFile } from './modelStore';

export interface LoadedModel extends OpenedPackage<OrtWebRunner> {
  readonly editor: Editor<OrtWebRunner>;
  readonly baseUrl: string;
  readonly backend: BackendInfo;
  readonly defaults: EditSettings;
  readonly suggestions: string[];
}

/**
 * The package's manifest as it came (the opener applies the cap, the web-page sniff and the
 * schema): fetched fresh when the network answers, else the copy kept from the last visit
 * (offline use). The body's silence is watched as it is read.
 */
async function manifestResponse(
  baseUrl: string,
  { signal, stallMs = DEFAULT_STALL_MS, headersFor }: LoadOptions,
): Promise<RawManifest> {
  const url = resolveUrl(baseUrl, 'manifest.json');
  if (isLocalPackageUrl(baseUrl)) {
    // a package opened from a folder exists only in the store: nothing to fetch
    const kept = await storedManifest(baseUrl);
    if (kept === null)
      throw new FetchError(
        `${localPackageName(baseUrl)}, opened from a folder, is no longer stored in this browser (its storage was cleared); open its folder again`,
      );
    return { where: url, body: new TextEncoder().encode(kept) };
  }
  const watch = new StallWatch(stallMs, signal);
  const unreachable = (err: unknown) => {
    const why = watch.stalled
      ? `the server sent nothing for ${Math.round(stallMs / 1000)} s`
      : (err as Error).message;
    return new FetchError(
      /^HTTP/.test(why)
        ? `could not load ${url}: ${why}. Is this a model package URL?`
        : `could not reach ${url}: ${why}. Check the model URL and your connection.`,
      { cause: err },
    );
  };
  let response: Response;
  try {
    response = await fetch(url, { cache: 'no-cache', signal: watch.signal, headers: headersFor?.(url) });
    watch.kick();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  } catch (err) {
    watch.stop();
    if (signal?.aborted) throw err;
    const kept = await storedManifest(baseUrl);
    if (kept === null) throw unreachable(err);
    return { where: url, body: new TextEncoder().encode(kept) };
  }
  const reader = response.body?.getReader();
  return responseManifest(
    url,
    response,
    reader
      ? {
          getReader: () => ({
            async read() {
              try {
                const r = await reader.read();
                if (r.done) watch.stop();
                else watch.kick();
                return r;
              } catch (err) {
                watch.stop();
                throw signal?.aborted ? err : unreachable(err);
              }
            },
            cancel: (reason) => (watch.stop(), reader.cancel(reason)),
          }),
        }
      : (watch.stop(), null),
  );
}

export interface ModelLoadOptions extends LoadOptions {
  /** The worker's runtime options (its first request's): step-graph options, a memory policy. */
  runtime?: RuntimeOptions;
  /** Called once every file is here, before any session is made (the caller may free memory). */
  beforeSessions?: (packageBytes: number) => Promise<void>;
  /** A gated hub repository's token: sent to the hub's origin only, for this load's requests. */
  hubAuth?: HubAuth;
}

/**
 * The worker's file source: the model store (OPFS). The manifest comes from the network, or the
 * copy kept from the last visit, and the copy is renewed once it passes the opener's checks.
 * Files are fetched into the store and verified as they arrive, or found there already verified;
 * nothing is held in memory. A graph's stored files
 * go to the runtime as Files, which it reads itself, one graph at a time as it creates each
 * session (a file of 2 GiB or more is read by slices here instead, as Chromium requires). Without
 * OPFS the bytes fetched at load are held until the load ends, and fetched again if needed later.
 */
function storeSource(
  baseUrl: string,
  onProgress: (p: Progress) => void,
  options: ModelLoadOptions,
): FileSource<Uint8Array | Blob> & { loaded(): void } {
  let ready = new Map<string, ReadyFile>();
  const find = async (f: ManifestFile): Promise<ReadyFile> =>
    ready.get(f.path) ?? (await preparePackageFiles(baseUrl, [f], () => undefined)).get(f.path)!;
  return {
    manifest: () => manifestResponse(baseUrl, options),
    keepManifest: (text) => storeManifest(baseUrl, text),
    async prepare(files, signal) {
      ready = await preparePackageFiles(baseUrl, files, onProgress, {
        ...options,
        signal: signal ?? options.signal,
      });
    },
    async read(f, range) {
      const once = async (r: ReadyFile) => {
        if (!range) return readyBytes(r);
        if ('bytes' in r) return r.bytes.subarray(range.start, range.end);
        return new Uint8Array(await r.file.slice(range.start, range.end).arrayBuffer());
      };
      const r = await find(f);
      try {
        return await once(r);
      } catch (err) {
        // a stored copy replaced since it was found (another tab stored it again): find it anew
        if ('bytes' in r) throw err;
        ready.delete(f.path);
        return once(await find(f));
      }
    },
    async graphData(f) {
      const r = await find(f);
      if ('bytes' in r) return r.bytes;
      return r.file.size >= WHOLE_READ_LIMIT ? readyBytes(r) : r.file;
    },
    // stored files stay at hand (a File is a handle, not its bytes); fetched bytes go
    loaded() {
      ready = new Map([...ready].filter(([, r]) => 'file' in r));
    },
  };
}

export async function loadModel(
  baseUrl: string,
  backend: BackendInfo,
  wanted: Dtype | 'auto',
  onProgress: (p: Progress) => void,
  options: ModelLoadOptions = {},
): Promise<LoadedModel> {
  const files = storeSource(baseUrl, onProgress, { ...options, headersFor: hubHeaders(options.hubAuth) });
  let editor: Editor<OrtWebRunner>;
  try {
    editor = await Editor.open(files, {
      device: backend.backend,
      dtype: wanted,
      shaderF16: backend.shaderF16,
      gpuLimits: backend.limits,
      runtime: webRuntime(backend.backend, webGpuStepOptions(options.runtime ?? {})),
      makeEncoder: (tokenizerJson, tokenizerConfig) => new HfTokenizer(tokenizerJson, tokenizerConfig),
      signal: options.signal,
      now: () => performance.now(),
      memory: options.runtime?.memory,
      beforeSessions: options.beforeSessions,
      verifyRuntime: backend.backend === 'webgpu' ? wasmVerifyRuntime : undefined,
    });
  } catch (err) {
    // a web page or an endless answer where the manifest should be: the address is wrong, not a package
    if (err instanceof NotAManifestError) throw new FetchError(err.message, { cause: err });
    throw err;
  } finally {
    files.loaded();
  }
  const { manifest } = editor;
  return {
    editor,
    manifest,
    dtype: editor.dtype,
    spec: editor.spec,
    runner: editor.runner,
    tokenizers: editor.tokenizers,
    engine: editor.engine,
    bytes: editor.bytes,
    memory: editor.memory,
    baseUrl,
    backend,
    // the engine applies the package's own defaults (one mapping, in the engine)
    defaults: editor.defaults,
    suggestions: [...(manifest.suggestions ?? [])],
  };
}
