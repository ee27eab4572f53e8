/**
 * The loaded model in the worker: manifest → verified files → onnxruntime-web sessions →
 * tokenizers → EditEngine. One at a time; loading another model releases this one.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { EditError } from '../src/engine/errors';
import { hfTokenizer } from '../src/engine/hfTokenizer';
import { defaultHold, GRAPH_NAMES, packageFiles, specFromManifest, validateManifest } from '../src/engine/manifest';
import type { Dtype, Manifest, ManifestFile } from '../src/engine/manifest';
import type { ModelSpec } from '../src/engine/modelSpec';
import { EditEngine } from '../src/engine/pipeline';
import type { Tokenizer } from '../src/engine/ports';
import type { BackendInfo, EditSettings } from '../src/protocol/messages';
import { FetchError, loadPackageFiles, resolveUrl, storeManifest, storedManifest } from './modelStore';
import type { Progress } from './modelStore';
import { OrtWebRunner, webGpuStepOptions } from './ortRunner';
import type { GraphBytes } from './ortRunner';

/** Packages above this size free their text encoders between prompts (see loadModel). */
export const MEMORY_TIGHT_BYTES = 1 << 30;

export interface LoadedModel {
  readonly baseUrl: string;
  readonly manifest: Manifest;
  readonly spec: ModelSpec;
  readonly dtype: Dtype;
  readonly backend: BackendInfo;
  readonly runner: OrtWebRunner;
  readonly engine: EditEngine;
  readonly tokenizers: { clip: Tokenizer; llm: Tokenizer };
  /** Bytes of every file this dtype needs. */
  readonly bytes: number;
  readonly defaults: EditSettings;
  readonly suggestions: string[];
}

/** Best dtype for a backend among those the package ships (docs/model-package.md). */
export function dtypeFor(manifest: Manifest, backend: BackendInfo, wanted: Dtype | 'auto'): Dtype {
  const have = Object.keys(manifest.dtypes) as Dtype[];
  if (wanted !== 'auto') {
    if (!have.includes(wanted)) throw new EditError('bad-settings', `this model has no ${wanted} graphs (it has ${have.join(', ')})`);
    return wanted;
  }
  // WebGPU has no int8 MatMul kernels; WASM runs int8 fastest. fp32 is the exact fallback.
  const order: Dtype[] =
    backend.backend === 'webgpu'
      ? backend.shaderF16
        ? ['q4f16', 'q4', 'fp16', 'fp32']
        : ['q4', 'fp32']
      : ['q8', 'q4', 'fp32'];
  const pick = order.find((d) => have.includes(d) && manifest.dtypes[d]!.providers.includes(backend.backend));
  if (!pick) throw new EditError('bad-settings', `this model ships no graphs this backend runs (it has ${have.join(', ')})`);
  return pick;
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

function tokenizerFrom(files: readonly string[], bytes: Map<string, Uint8Array>): Tokenizer {
  const decoder = new TextDecoder();
  const read = (name: string) => {
    const f = files.find((x) => x === name || x.endsWith(`/${name}`));
    return f ? (JSON.parse(decoder.decode(bytes.get(f)!)) as Record<string, unknown>) : undefined;
  };
  const tokenizerJson = read('tokenizer.json');
  if (!tokenizerJson) throw new EditError('bad-manifest', 'the model package has no tokenizer.json');
  const tokenizerConfig = read('tokenizer_config.json') ?? {};
  return hfTokenizer(new HfTokenizer(tokenizerJson, tokenizerConfig), { tokenizerJson, tokenizerConfig });
}

export async function loadModel(
  baseUrl: string,
  backend: BackendInfo,
  wanted: Dtype | 'auto',
  onProgress: (p: Progress) => void,
  signal?: AbortSignal,
): Promise<LoadedModel> {
  const manifest = await fetchManifest(baseUrl, signal);
  const dtype = dtypeFor(manifest, backend, wanted);
  const needed = packageFiles(manifest, dtype);
  const files: ManifestFile[] = [...needed.tokenizers, ...GRAPH_NAMES.flatMap((g) => needed.graphs[g])];
  const bytes = await loadPackageFiles(baseUrl, files, onProgress, signal);

  const graphBytes: GraphBytes[] = GRAPH_NAMES.map((g) => {
    const [model, ...external] = needed.graphs[g];
    return {
      graph: g,
      model: bytes.get(model!.path)!,
      externalData: external.map((e) => ({ path: e.path.split('/').pop()!, data: bytes.get(e.path)! })),
    };
  });
  const runner = await OrtWebRunner.create(backend.backend, graphBytes, webGpuStepOptions(self.name));
  const spec = specFromManifest(manifest);
  const tokenizers = {
    clip: tokenizerFrom(manifest.tokenizers.clip.files, bytes),
    llm: tokenizerFrom(manifest.tokenizers.llm.files, bytes),
  };
  graphBytes.length = 0; // the sessions hold the weights now; let the downloaded copies go
  bytes.clear();
  // A package too big to hold every graph at once frees the text encoders between prompts and
  // reads them back from the model store when a new prompt comes.
  const packageBytes = files.reduce((s, f) => s + f.bytes, 0);
  const releaseTextEncoders = packageBytes > MEMORY_TIGHT_BYTES;
  if (releaseTextEncoders) {
    runner.reopen = async (graph) => {
      const [model, ...external] = needed.graphs[graph];
      // Verified when the model loaded; hashing a GB-sized graph again per prompt would cost seconds.
      const again = await loadPackageFiles(baseUrl, [model!, ...external], () => undefined, undefined, false);
      return {
        graph,
        model: again.get(model!.path)!,
        externalData: external.map((e) => ({ path: e.path.split('/').pop()!, data: again.get(e.path)! })),
      };
    };
  }
  const engine = new EditEngine({ runner, tokenizers, spec, releaseTextEncoders, now: () => performance.now() });
  return {
    baseUrl,
    manifest,
    spec,
    dtype,
    backend,
    runner,
    engine,
    tokenizers,
    bytes: packageBytes,
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
}
