/**
 * The loaded model in the worker: the manifest (network, or the copy kept for offline use), then
 * the engine's package opener (src/engine/package.ts) with the worker's two adapters: the model
 * store as file source and onnxruntime-web as graph runtime. One model at a time.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { EditError } from '../src/engine/errors';
import { defaultHold, validateManifest } from '../src/engine/manifest';
import type { Dtype, Manifest, ManifestFile } from '../src/engine/manifest';
import { openModelPackage } from '../src/engine/package';
import type { FileSource, GraphFiles, GraphRuntime, OpenedPackage } from '../src/engine/package';
import type { BackendInfo, EditSettings } from '../src/protocol/messages';
import { FetchError, loadPackageFiles, resolveUrl, storeManifest, storedManifest } from './modelStore';
import type { Progress } from './modelStore';
import { OrtWebRunner, webGpuStepOptions } from './ortRunner';
import type { GraphBytes } from './ortRunner';

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
export async function fetchManifest(baseUrl: string, signal?: AbortSignal): Promise<Manifest> {
  const url = resolveUrl(baseUrl, 'manifest.json');
  let text: string;
  try {
    const response = await fetch(url, { cache: 'no-cache', signal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    if (/text\/html/i.test(response.headers.get('content-type') ?? '')) {
      throw new FetchError(`${url} sent a web page, not a model manifest. Is this a model package URL?`);
    }
    text = await response.text();
  } catch (err) {
    if (signal?.aborted || err instanceof FetchError) throw err;
    const kept = await storedManifest(baseUrl);
    if (kept === null) {
      const why = (err as Error).message;
      throw new FetchError(
        /^HTTP/.test(why)
          ? `could not load ${url}: ${why}. Is this a model package URL?`
          : `could not reach ${url}: ${why}. Check the model URL and your connection.`,
        { cause: err },
      );
    }
    text = kept;
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

/**
 * The worker's file source: files fetched into the model store (OPFS) and verified there, handed
 * to onnxruntime-web as bytes. Bytes fetched at load are handed over once; a released graph's
 * files are read back from the store (verified when they were stored).
 */
function storeSource(baseUrl: string, onProgress: (p: Progress) => void): FileSource<Uint8Array> & { clear(): void } {
  let held = new Map<string, Uint8Array>();
  const fromStore = async (f: ManifestFile) => (await loadPackageFiles(baseUrl, [f], () => undefined, undefined, false)).get(f.path)!;
  return {
    async prepare(files, signal) {
      held = await loadPackageFiles(baseUrl, files, onProgress, signal);
    },
    async read(f, range) {
      const bytes = held.get(f.path) ?? (await fromStore(f));
      return range ? bytes.subarray(range.start, range.end) : bytes;
    },
    async graphData(f) {
      const bytes = held.get(f.path);
      held.delete(f.path); // the session keeps the weights; this copy goes once it is created
      return bytes ?? fromStore(f);
    },
    clear: () => held.clear(),
  };
}

function toGraphBytes(g: GraphFiles<Uint8Array>): GraphBytes {
  return { graph: g.graph, model: g.model, externalData: g.externalData.map((e) => ({ path: e.name, data: e.data })) };
}

export async function loadModel(
  baseUrl: string,
  backend: BackendInfo,
  wanted: Dtype | 'auto',
  onProgress: (p: Progress) => void,
  signal?: AbortSignal,
): Promise<LoadedModel> {
  const manifest = await fetchManifest(baseUrl, signal);
  const files = storeSource(baseUrl, onProgress);
  const runtime: GraphRuntime<Uint8Array, OrtWebRunner> = async (graphs, reopen) => {
    const runner = await OrtWebRunner.create(backend.backend, graphs.map(toGraphBytes), webGpuStepOptions(self.name));
    runner.reopen = async (graph) => toGraphBytes(await reopen(graph));
    return runner;
  };
  try {
    const opened = await openModelPackage({
      manifest,
      device: backend.backend,
      dtype: wanted,
      shaderF16: backend.shaderF16,
      files,
      runtime,
      makeEncoder: (tokenizerJson, tokenizerConfig) => new HfTokenizer(tokenizerJson, tokenizerConfig),
      signal,
      now: () => performance.now(),
    });
    return {
      ...opened,
      baseUrl,
      backend,
      defaults: {
        steps: manifest.defaults.steps,
        guidance: manifest.defaults.guidance_scale,
        referenceStrength: manifest.defaults.reference_strength,
        hold: defaultHold(manifest.defaults),
        seed: 0,
        negativePrompt: manifest.negative_prompt,
        composite: true,
      },
      suggestions: [...(manifest.suggestions ?? [])],
    };
  } finally {
    files.clear();
  }
}
