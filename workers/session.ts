/**
 * The loaded model in the worker: the manifest (network, or the copy kept for offline use), then
 * the engine's package opener (src/engine/package.ts) with the worker's two adapters: the model
 * store as file source and onnxruntime-web as graph runtime. One model at a time.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { EditError } from '../src/engine/errors';
import { MAX_MANIFEST_BYTES, packageEditOptions, validateManifest } from '../src/engine/manifest';
import type { Dtype, Manifest, ManifestFile } from '../src/engine/manifest';
import { openModelPackage } from '../src/engine/package';
import type { MemoryPolicy } from '../src/engine/pipeline';
import type { FileSource, OpenedPackage } from '../src/engine/package';
import type { BackendInfo, EditSettings } from '../src/protocol/messages';
import { WHOLE_READ_LIMIT } from './blobReader';
import { DEFAULT_STALL_MS, readTextCapped, StallWatch } from './download';
import { checkBufferLimits } from '../src/engine/runtime/web/gpuDevice';
import {
  FetchError,
  preparePackageFiles,
  readyBytes,
  resolveUrl,
  storeManifest,
  storedManifest,
} from './modelStore';
import type { LoadOptions, Progress, ReadyFile } from './modelStore';
import { wasmVerifyRuntime, webRuntime } from '../src/engine/runtime/web';
import { webGpuStepOptions } from '../src/engine/runtime/web/ortWebRunner';
import type { OrtWebRunner } from '../src/engine/runtime/web/ortWebRunner';

export interface LoadedModel extends OpenedPackage<OrtWebRunner> {
  readonly baseUrl: string;
  readonly backend: BackendInfo;
  readonly defaults: EditSettings;
  readonly suggestions: string[];
}

/**
 * The package's manifest: fetched fresh when the network answers, else the copy kept from the
 * last visit (offline use). Either way it must pass the schema.
 */
export async function fetchManifest(
  baseUrl: string,
  { signal, stallMs = DEFAULT_STALL_MS }: LoadOptions = {},
): Promise<Manifest> {
  const url = resolveUrl(baseUrl, 'manifest.json');
  let text: string;
  const watch = new StallWatch(stallMs, signal);
  try {
    const response = await fetch(url, { cache: 'no-cache', signal: watch.signal });
    watch.kick();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    if (/text\/html/i.test(response.headers.get('content-type') ?? '')) {
      throw new FetchError(`${url} sent a web page, not a model manifest. Is this a model package URL?`);
    }
    text = await readTextCapped(response, MAX_MANIFEST_BYTES, url, watch);
  } catch (err) {
    if (signal?.aborted || err instanceof FetchError) throw err;
    const kept = await storedManifest(baseUrl);
    if (kept === null) {
      const why = watch.stalled
        ? `the server sent nothing for ${Math.round(stallMs / 1000)} s`
        : (err as Error).message;
      throw new FetchError(
        /^HTTP/.test(why)
          ? `could not load ${url}: ${why}. Is this a model package URL?`
          : `could not reach ${url}: ${why}. Check the model URL and your connection.`,
        { cause: err },
      );
    }
    text = kept;
  } finally {
    watch.stop();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EditError('bad-manifest', `${url} is not a JSON manifest`);
  }
  const manifest = validateManifest(json);
  await storeManifest(baseUrl, text);
  return manifest;
}

export interface ModelLoadOptions extends LoadOptions {
  /** Called once every file is here, before any session is made (the caller may free memory). */
  beforeSessions?: (packageBytes: number) => Promise<void>;
}

/**
 * The worker's file source: the model store (OPFS). Files are fetched into it and verified as
 * they arrive, or found there already verified; nothing is held in memory. A graph's stored files
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
    async prepare(files, signal) {
      ready = await preparePackageFiles(baseUrl, files, onProgress, {
        ...options,
        signal: signal ?? options.signal,
      });
      await options.beforeSessions?.(files.reduce((s, f) => s + f.bytes, 0));
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

/**
 * The least GPU buffer any WebGPU dtype of the package needs (each dtype records its own; a GPU
 * below it runs none of them, and the dtype policy skips the ones over the limit).
 */
function webGpuBufferNeed(manifest: Manifest): number | undefined {
  const own = Object.values(manifest.dtypes)
    .filter((e) => e.providers.includes('webgpu'))
    .map((e) => e.max_buffer_bytes);
  const known = own.filter((n): n is number => n !== undefined);
  return known.length && known.length === own.length ? Math.min(...known) : manifest.config.max_buffer_bytes;
}

/**
 * Refused before any download: buffers the GPU cannot hold (the engine's opener refuses oversized
 * tokenizer files before its files are prepared).
 */
function checkBeforeDownload(manifest: Manifest, backend: BackendInfo): void {
  if (backend.backend === 'webgpu') checkBufferLimits(webGpuBufferNeed(manifest), backend.limits);
}

/**
 * A memory policy named in the worker's name ("memory=phased"), overriding the one the package's
 * size gives: how tests and the benchmark run a small package under a tight policy.
 */
function memoryFromName(name: string): MemoryPolicy | undefined {
  const m = /(?:^|\s)memory=(all|release-text|phased)(?:\s|$)/.exec(name);
  return m ? (m[1] as MemoryPolicy) : undefined;
}

export async function loadModel(
  baseUrl: string,
  backend: BackendInfo,
  wanted: Dtype | 'auto',
  onProgress: (p: Progress) => void,
  options: ModelLoadOptions = {},
): Promise<LoadedModel> {
  const manifest = await fetchManifest(baseUrl, options);
  checkBeforeDownload(manifest, backend);
  const files = storeSource(baseUrl, onProgress, options);
  const runtime = webRuntime(backend.backend, webGpuStepOptions(self.name));
  try {
    const opened = await openModelPackage({
      manifest,
      device: backend.backend,
      dtype: wanted,
      shaderF16: backend.shaderF16,
      maxBufferBytes:
        backend.limits && Math.min(backend.limits.maxBufferSize, backend.limits.maxStorageBufferBindingSize),
      files,
      runtime,
      makeEncoder: (tokenizerJson, tokenizerConfig) => new HfTokenizer(tokenizerJson, tokenizerConfig),
      signal: options.signal,
      now: () => performance.now(),
      memory: memoryFromName(self.name),
      verifyRuntime: backend.backend === 'webgpu' ? wasmVerifyRuntime : undefined,
    });
    // the engine applies the package's own defaults (one mapping, in the engine)
    return {
      ...opened,
      baseUrl,
      backend,
      defaults: packageEditOptions(manifest),
      suggestions: [...(manifest.suggestions ?? [])],
    };
  } finally {
    files.loaded();
  }
}
