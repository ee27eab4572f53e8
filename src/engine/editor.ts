/**
 * The one-call editor: an opened model package and its engine behind `edit(image, instruction,
 * options)`, with the package's own defaults applied here, in the engine, so that no host maps
 * them by hand. The runtime entries (`@editmgt/engine/node`, `@editmgt/engine/web`) bind it to a
 * file source and a graph runtime as `EditMGT.fromPretrained`.
 */
import type { RgbaImage } from './image';
import { packageEditOptions } from './manifest';
import type { Dtype, Manifest } from './manifest';
import { EDIT_SETTING_NAMES } from './editSettings';
import type { EditOptionValues } from './editSettings';
import { loadPackage } from './package';
import { checkOptionsObject } from './validate';
import type { FileSource, OpenedPackage, OpenOptions, PackageRunner } from './package';
import type { ModelSpec } from './modelSpec';
import type { EditEngine, EditRequest, EditResult, MemoryPolicy, StepEvent } from './pipeline';
import type { Tokenizer } from './ports';

/** Options of one edit; each setting left out takes the model package's default. */
export interface EditOptions extends Partial<EditOptionValues> {
  /** inpainting: cells to regenerate, as a [h·w] 0/1 grid or an image (white = regenerate) */
  readonly mask?: Uint8Array | RgbaImage;
  /** restrict the attention map to these words of the instruction */
  readonly queryWords?: string;
  /** called after every step (tokens, attention, a preview when the package has codebook colours) */
  readonly onStep?: (e: StepEvent) => void;
  /** stops the edit within one graph run; the promise rejects with the signal's reason */
  readonly signal?: AbortSignal;
}

/** Loading progress: bytes of the package's files that are here, of all it needs. */
export interface LoadProgress {
  /** the file being fetched or checked, when one is */
  readonly file?: string;
  readonly loaded: number;
  readonly total: number;
}

/** Options of `EditMGT.fromPretrained` common to every runtime. */
export interface PretrainedOptions {
  /** the graphs' dtype; `auto` (the default) picks the best the device runs */
  readonly dtype?: Dtype | 'auto';
  readonly onProgress?: (p: LoadProgress) => void;
  /** cancels the download and load */
  readonly signal?: AbortSignal;
}

/**
 * A loaded model package, ready to edit images.
 * @example
 * // in node (onnxruntime-node); in a page import from '@editmgt/engine/web' and pass device 'webgpu' or 'wasm'
 * import { EditMGT } from '@editmgt/engine/node';
 * const editor = await EditMGT.fromPretrained('./models/tiny-random', { device: 'cpu' });
 * const result = await editor.edit({ width, height, data }, 'make the sky purple', { steps: 8, seed: 1 });
 * await editor.dispose();
 */
export class Editor<R extends PackageRunner = PackageRunner> {
  private disposed = false;
  private readonly pkg: OpenedPackage<R>;

  /** An opened package (or another editor's), for the runtime entries' subclasses; hosts call `open`. */
  constructor(from: OpenedPackage<R> | Editor<R>) {
    this.pkg = from instanceof Editor ? from.pkg : from;
    this.defaults = packageEditOptions(this.pkg.manifest);
  }

  /**
   * Opens a package from a host's file source with its graph runtime: the one way to a ready
   * engine (the runtime entries' `fromPretrained`, the app's worker, the CLI and the benchmark
   * all come in here). `options` is the one list of load options (OpenOptions).
   */
  static async open<D, R extends PackageRunner>(
    source: FileSource<D>,
    options: OpenOptions<D, R>,
  ): Promise<Editor<R>> {
    return new Editor(await loadPackage(source, options));
  }

  /** The settings an edit uses when its options name none: the package's own defaults. */
  readonly defaults: EditOptionValues;

  get manifest(): Manifest {
    return this.pkg.manifest;
  }

  /** The dtype whose graphs were loaded. */
  get dtype(): Dtype {
    return this.pkg.dtype;
  }

  /** The edit loop itself, for what the one-call API does not cover (word attention, decode). */
  get engine(): EditEngine {
    return this.pkg.engine;
  }

  /** The graphs' runner as the runtime made it (not the `wrapRunner` wrapper the engine may run on). */
  get runner(): R {
    return this.pkg.runner;
  }

  get tokenizers(): { readonly clip: Tokenizer; readonly llm: Tokenizer } {
    return this.pkg.tokenizers;
  }

  /** The model's geometry and text lengths, from the manifest. */
  get spec(): ModelSpec {
    return this.pkg.spec;
  }

  /** Bytes of every file the loaded dtype needs. */
  get bytes(): number {
    return this.pkg.bytes;
  }

  /** Which sessions stay open between phases (from the package's size unless the host chose one). */
  get memory(): MemoryPolicy {
    return this.pkg.memory;
  }

  /**
   * Edits `image` as `instruction` says. `image` is ImageData-like (RGBA bytes, row-major);
   * `result.image` is the same kind at the input's size (`result.modelImage` at the model's).
   * Bad input (an image that is not RGBA bytes of its size, an instruction with nothing visible,
   * a setting out of its range, a mask of another size than the image) rejects with an EditError
   * whose `code` names the problem, before any graph runs.
   * @example
   * const result = await editor.edit(imageData, 'make the sky purple', {
   *   steps: 16,
   *   seed: 7,
   *   onStep: (e) => console.log(`step ${e.step + 1}/${e.steps}`),
   * });
   * ctx.putImageData(new ImageData(new Uint8ClampedArray(result.image.data), result.image.width, result.image.height), 0, 0);
   */
  async edit(image: RgbaImage, instruction: string, options: EditOptions = {}): Promise<EditResult> {
    if (this.disposed) throw new Error('this editor was disposed; load the model again');
    // everything else is checked once, by the engine, before any graph runs (validate.ts)
    checkOptionsObject(options);
    const { onStep, signal, mask, queryWords } = options;
    // only the edit settings, each one given (undefined is left out: the package's default stands)
    const chosen: Record<string, unknown> = {};
    for (const name of EDIT_SETTING_NAMES) if (options[name] !== undefined) chosen[name] = options[name];
    const request: EditRequest = {
      ...this.defaults,
      ...chosen,
      image,
      prompt: instruction,
      mask,
      queryWords,
    };
    return this.pkg.engine.edit(request, { onStep, signal });
  }

  /** Releases the graphs' sessions; the editor cannot edit afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.pkg.runner.release();
  }
}
