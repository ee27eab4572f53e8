/**
 * @editmgt/engine/web — the engine on onnxruntime-web (WebGPU, or WASM), in a page or a worker:
 * `EditMGT.fromPretrained` fetches a package by URL, plus the web adapters (a fetch file source,
 * the graph runtime, the runner, the backend choice) for hosts that assemble their own. The
 * runtime's .wasm files are fetched from where the bundler puts onnxruntime-web's.
 * Everything the main entry exports is here too.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { EditError } from '../../errors';
import { Editor } from '../../editor';
import { checkPackageSource } from '../../validate';
import type { PretrainedOptions } from '../../editor';
import type { GraphFiles, GraphRuntime, OpenOptions, PackageRunner } from '../../package';
import { fetchSource, packageBase } from './fetchSource';
import { loadRuntime, pickBackend } from './ort';
import type { Backend, BackendChoice, BackendInfo } from './ort';
import { OrtWebRunner, WEBGPU_STEP_DEFAULTS } from './ortWebRunner';
import type { GraphBytes, WebGpuStepOptions } from './ortWebRunner';

export * from '../../index';
export { fetchManifestResponse, fetchSource } from './fetchSource';
export { GpuLimitError } from './gpuDevice';
export { pickBackend, runtimeBuild, setWasmThreads } from './ort';
export type { Backend, BackendChoice, BackendInfo, RuntimeBuild } from './ort';
export { OrtWebRunner, WEBGPU_STEP_DEFAULTS } from './ortWebRunner';
export type { GraphBytes, GraphStats, WebGpuStepOptions } from './ortWebRunner';

const toGraphBytes = (g: GraphFiles<Uint8Array | Blob>): GraphBytes => ({
  graph: g.graph,
  model: g.model,
  externalData: g.externalData.map((e) => ({ path: e.name, data: e.data })),
});

/**
 * The web graph runtime: onnxruntime-web sessions on `backend`, each created from its graph's
 * bytes or Files when the graph is first needed.
 */
export function webRuntime(
  backend: Backend,
  step: WebGpuStepOptions = WEBGPU_STEP_DEFAULTS,
): GraphRuntime<Uint8Array | Blob, OrtWebRunner> {
  return (_graphs, open) =>
    Promise.resolve(OrtWebRunner.create(backend, async (graph) => toGraphBytes(await open(graph)), step));
}

/**
 * WASM beside WebGPU, to tell a damaged graph file from a GPU that cannot run it: the opener's
 * `verifyRuntime` on WebGPU. Released, it leaves the WebGPU build in use again, as a model still
 * loaded on WebGPU expects.
 */
export const wasmVerifyRuntime: NonNullable<OpenOptions<Uint8Array | Blob, PackageRunner>['verifyRuntime']> =
  {
    device: 'wasm',
    runtime: async (graphs, open) => {
      const runner = await webRuntime('wasm')(graphs, open);
      return {
        run: (graph, feeds, signal) => runner.run(graph, feeds, signal),
        signature: (graph) => runner.signature(graph),
        releaseGraph: (graph) => runner.releaseGraph(graph),
        release: async () => {
          await runner.release();
          await loadRuntime('webgpu');
        },
      };
    },
  };

export interface WebPretrainedOptions extends PretrainedOptions {
  /** 'webgpu' or 'wasm'; 'auto' (the default) takes WebGPU when the browser has an adapter */
  readonly device?: BackendChoice;
}

/**
 * EditMGT on onnxruntime-web.
 * @example
 * import { EditMGT } from '@editmgt/engine/web';
 * const editor = await EditMGT.fromPretrained('/models/shapes/', { device: 'webgpu' });
 * const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
 * const { image } = await editor.edit(pixels, 'make the circle red', { onStep: (e) => console.log(e.step) });
 * ctx.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
 */
export class EditMGT extends Editor<OrtWebRunner> {
  constructor(
    editor: Editor<OrtWebRunner>,
    /** The backend the graphs run on (and why it is not the one asked for, when it isn't). */
    readonly backend: BackendInfo,
  ) {
    super(editor);
  }

  /** Opens the model package at `url` (the folder that holds manifest.json). */
  static async fromPretrained(url: string, options: WebPretrainedOptions = {}): Promise<EditMGT> {
    checkPackageSource(url, 'fromPretrained', 'the URL of the folder that holds manifest.json');
    const { device = 'auto', dtype, onProgress, signal } = options;
    if (device !== 'auto' && device !== 'webgpu' && device !== 'wasm')
      throw new EditError(
        'bad-settings',
        `in a page the device is 'webgpu' or 'wasm', got '${String(device)}'`,
      );
    const backend = await pickBackend(device);
    const editor = await Editor.open(fetchSource(packageBase(url)), {
      device: backend.backend,
      dtype,
      shaderF16: backend.shaderF16,
      // the same rule as the app's worker: refused before any download when no WebGPU dtype fits
      gpuLimits: backend.limits,
      runtime: webRuntime(backend.backend),
      verifyRuntime: backend.backend === 'webgpu' ? wasmVerifyRuntime : undefined,
      makeEncoder: (tokenizerJson, tokenizerConfig) => new HfTokenizer(tokenizerJson, tokenizerConfig),
      signal,
      onProgress,
      now: () => performance.now(),
    });
    return new EditMGT(editor, backend);
  }
}
