/**
 * Opening a model package, written once for every host (the worker on onnxruntime-web, the CLI
 * on onnxruntime-node): the manifest (read once, with the same cap, web-page sniff and schema for
 * every source), the check before any download (the GPU buffers), dtype choice, files,
 * tokenizers, graph runner, the check of each graph against the manifest, and the memory policy.
 * Hosts supply two ports: a FileSource (where the package's manifest and files come from) and a
 * GraphRuntime (what turns graph files into a runner). `Editor.open` (editor.ts) is the way in.
 */
import { EditError } from './errors';
import { checkDeclaredShapes, checkGraphSignature } from './graphContract';
import { hfTokenizer } from './hfTokenizer';
import type { BpeEncoder } from './hfTokenizer';
import {
  checkDeclaredSizes,
  GRAPH_NAMES,
  packageFiles,
  parseRawManifest,
  specFromManifest,
} from './manifest';
import type { Dtype, Manifest, ManifestFile, RawManifest, TokenizerEntry } from './manifest';
import type { ModelSpec } from './modelSpec';
import {
  checkGraphReferences,
  checkTokenTable,
  damagedGraph,
  mayBeFileFault,
  tokenIdCount,
} from './packageChecks';
import { EditEngine } from './pipeline';
import type { MemoryPolicy } from './pipeline';
import type { GraphName, GraphRunner, GraphSignature, Tokenizer } from './ports';
import type { LoadProgress } from './editor';
import { TokenTable, withTokenLookup } from './tokenTable';

/** Packages above this size free their text encoders between prompts (memory policy 'release-text'). */
export const MEMORY_TIGHT_BYTES = 1 << 30;
/**
 * Packages above this size hold one phase's graphs at a time (memory policy 'phased'): the text
 * encoders, or the image graphs, never both (the full-size q4 package is about 3 GB).
 */
export const MEMORY_PHASED_BYTES = 2 * (1 << 30);

/*
 * Memory policies (EngineOptions.memory) at load: under 'release-text' the text encoders are
 * checked and freed at once; under 'phased' every graph is, one at a time.
 */

/** The memory policy for a package of `bytes`. */
export function memoryPolicy(bytes: number): MemoryPolicy {
  return bytes > MEMORY_PHASED_BYTES ? 'phased' : bytes > MEMORY_TIGHT_BYTES ? 'release-text' : 'all';
}

/**
 * Where a package's files come from. `D` is what the graph runtime takes for a file: bytes, a
 * Blob or File (read by the runtime itself), or a path.
 */
export interface FileSource<D> {
  /**
   * The package's manifest.json as it is (fetched, read, or a copy kept from an earlier visit):
   * the opener reads it once and applies the same rules to every source (parseRawManifest).
   */
  manifest(signal?: AbortSignal): Promise<RawManifest>;
  /** Called with the manifest's text once it passed every check (a source may keep it for offline use). */
  keepManifest?(text: string): Promise<void>;
  /**
   * Makes `files` ready: fetched where needed and each one's size and sha256 checked against the
   * manifest (a source that holds a file already verified need not hash it again).
   */
  prepare(
    files: readonly ManifestFile[],
    signal?: AbortSignal,
    onProgress?: (p: LoadProgress) => void,
  ): Promise<void>;
  /** A prepared file's bytes, or bytes [start, end) of it. */
  read(file: ManifestFile, range?: { readonly start: number; readonly end: number }): Promise<Uint8Array>;
  /**
   * A file as the graph runtime takes it. Called at load and again when a released graph is
   * reopened; the file was verified by `prepare`, so it is not hashed again.
   */
  graphData(file: ManifestFile): Promise<D>;
}

/** One graph's files: the .onnx file and its external-data chunks under the names the graph uses. */
export interface GraphFiles<D> {
  readonly graph: GraphName;
  readonly model: D;
  /** In manifest order; `name` is the chunk's file name, which the graph's tensors refer to. */
  readonly externalData: readonly { readonly name: string; readonly data: D }[];
}

export interface PackageRunner extends GraphRunner {
  signature(graph: GraphName): Promise<GraphSignature>;
  release(): Promise<void>;
  releaseGraph(graph: GraphName): Promise<void>;
}

/**
 * Creates the runner for a package's graphs. The runner opens a graph's files (`open`) when it
 * creates that graph's session, at load and again when a released graph runs, so it never holds
 * more than the graph it is creating; it may create none until a graph is asked for.
 */
export type GraphRuntime<D, R extends PackageRunner> = (
  graphs: readonly GraphName[],
  open: (graph: GraphName) => Promise<GraphFiles<D>>,
) => Promise<R>;

export type Device = 'webgpu' | 'wasm' | 'cpu';

/** A WebGPU adapter's buffer limits (what a device from it can be given). */
export interface GpuBufferLimits {
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
}

/** The package needs a buffer or binding larger than the GPU allows. */
export class GpuLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuLimitError';
  }
}

const mb = (n: number) => `${Math.round(n / 1e6)} MB`;

/**
 * Refuses a need of `needBytes` (a package's largest buffer) that exceeds what this GPU allows,
 * saying which limit falls short and what would fit instead.
 */
export function checkBufferLimits(needBytes: number | undefined, limits: GpuBufferLimits | undefined): void {
  if (needBytes === undefined || !limits) return;
  const short: string[] = [];
  if (limits.maxBufferSize < needBytes)
    short.push(`buffers of at most ${mb(limits.maxBufferSize)} (maxBufferSize)`);
  if (limits.maxStorageBufferBindingSize < needBytes)
    short.push(
      `storage bindings of at most ${mb(limits.maxStorageBufferBindingSize)} (maxStorageBufferBindingSize)`,
    );
  if (short.length === 0) return;
  throw new GpuLimitError(
    `this model needs GPU buffers of ${mb(needBytes)}, but this GPU allows ${short.join(' and ')}. ` +
      'A package converted at a smaller resolution would fit, or choose the WASM backend in Settings',
  );
}

/**
 * The GPU buffer a package needs on WebGPU: the least that any of its WebGPU dtypes needs (each
 * dtype records its own `max_buffer_bytes`; a GPU below the least runs none of them, and the dtype
 * choice skips the ones over the limit). Without a figure for every WebGPU dtype, the package's
 * `config.max_buffer_bytes` (the largest over all dtypes) stands.
 */
export function webGpuBufferNeed(manifest: Manifest): number | undefined {
  const own = Object.values(manifest.dtypes)
    .filter((e) => e.providers.includes('webgpu'))
    .map((e) => e.max_buffer_bytes);
  const known = own.filter((n): n is number => n !== undefined);
  return known.length && known.length === own.length ? Math.min(...known) : manifest.config.max_buffer_bytes;
}

/** The largest buffer a WebGPU adapter's limits allow (both a buffer and a storage binding). */
export const maxBufferBytesOf = (limits: GpuBufferLimits | undefined): number | undefined =>
  limits && Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);

const F16: readonly Dtype[] = ['fp16', 'q4f16'];

/** The compute dtype of one graph of a dtype entry (its own `dtype` when the manifest gives one). */
export function graphDtype(manifest: Manifest, dtype: Dtype, graph: GraphName): Dtype {
  return manifest.dtypes[dtype]!.graphs[graph].dtype ?? dtype;
}

/** Whether any graph of the entry computes in float16 (WebGPU then needs shader-f16). */
function needsF16(manifest: Manifest, dtype: Dtype): boolean {
  return GRAPH_NAMES.some((g) => F16.includes(graphDtype(manifest, dtype, g)));
}

/** The dtypes `auto` tries on a device, best first (see chooseDtype). */
export function dtypePreference(device: Device, shaderF16 = false): readonly Dtype[] {
  if (device === 'webgpu') return shaderF16 ? ['q4f16', 'q4', 'fp16', 'fp32'] : ['q4', 'fp32'];
  return device === 'wasm' ? ['q8', 'q4', 'fp32'] : ['fp32', 'q8', 'q4', 'fp16', 'q4f16'];
}

/**
 * The dtype to load: `wanted` when the package has it, else the best the device runs. WebGPU has
 * no int8 MatMul kernels, and an entry with any float16 graph needs shader-f16; WASM runs int8
 * fastest; on the CPU in node fp32 comes first (the exact one: parity and batch work), and any
 * dtype runs there.
 */
export function chooseDtype(
  manifest: Manifest,
  device: Device,
  wanted: Dtype | 'auto' = 'auto',
  shaderF16 = false,
  maxBufferBytes = Infinity,
): Dtype {
  const have = Object.keys(manifest.dtypes) as Dtype[];
  // on WebGPU a dtype whose largest buffer is over the adapter's limit cannot run
  const fits = (d: Dtype) =>
    device !== 'webgpu' || (manifest.dtypes[d]!.max_buffer_bytes ?? 0) <= maxBufferBytes;
  if (wanted !== 'auto') {
    if (!have.includes(wanted))
      throw new EditError('bad-settings', `this model has no ${wanted} graphs (it has ${have.join(', ')})`);
    if (!fits(wanted))
      throw new EditError(
        'bad-settings',
        `the ${wanted} graphs need a GPU buffer of ${manifest.dtypes[wanted]!.max_buffer_bytes} bytes and this GPU allows ${maxBufferBytes}; choose another dtype or a package at a lower resolution`,
      );
    return wanted;
  }
  const order = dtypePreference(device, shaderF16);
  const runs = (d: Dtype) =>
    have.includes(d) &&
    (device === 'cpu' || manifest.dtypes[d]!.providers.includes(device)) &&
    (device !== 'webgpu' || shaderF16 || !needsF16(manifest, d)) &&
    fits(d);
  const pick = order.find(runs);
  const tooBig = order.filter((d) => have.includes(d) && !fits(d));
  if (!pick && tooBig.length)
    throw new EditError(
      'bad-settings',
      `this GPU allows buffers of ${maxBufferBytes} bytes; the model's ${tooBig.join(', ')} graphs need ${Math.min(...tooBig.map((d) => manifest.dtypes[d]!.max_buffer_bytes ?? 0))} or more: use a package at a lower resolution or the WASM backend`,
    );
  if (!pick)
    throw new EditError(
      'bad-settings',
      `this model ships no graphs this backend runs (it has ${have.join(', ')})`,
    );
  return pick;
}

/** A tokenizer from the package's files: the manifest's pad id, the tokenizer's own padding side. */
export async function packageTokenizer(
  entry: TokenizerEntry,
  read: (path: string) => Promise<Uint8Array>,
  makeEncoder: (
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown>,
  ) => BpeEncoder,
): Promise<Tokenizer> {
  return (await readTokenizer(entry, read, makeEncoder)).tokenizer;
}

/** packageTokenizer, with the number of token ids its tokenizer.json can produce and that file's path. */
async function readTokenizer(
  entry: TokenizerEntry,
  read: (path: string) => Promise<Uint8Array>,
  makeEncoder: (
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown>,
  ) => BpeEncoder,
): Promise<{ tokenizer: Tokenizer; idCount: number; path: string }> {
  // TextDecoder is in every host (browsers, workers, node) but not in the engine's ES2022 lib.
  const decoder = new (
    globalThis as unknown as { TextDecoder: new () => { decode(b: Uint8Array): string } }
  ).TextDecoder();
  const json = async (name: string) => {
    const path = entry.files.find((p) => p === name || p.endsWith(`/${name}`));
    return path === undefined
      ? undefined
      : (JSON.parse(decoder.decode(await read(path))) as Record<string, unknown>);
  };
  const where = entry.files.find((p) => p.endsWith('tokenizer.json')) ?? 'tokenizer.json';
  let tokenizerJson: Record<string, unknown> | undefined;
  let tokenizerConfig: Record<string, unknown>;
  let encoder: BpeEncoder;
  try {
    tokenizerJson = await json('tokenizer.json');
    if (!tokenizerJson) throw new EditError('bad-manifest', 'the model package has no tokenizer.json');
    tokenizerConfig = (await json('tokenizer_config.json')) ?? {};
    encoder = makeEncoder(tokenizerJson, tokenizerConfig);
  } catch (err) {
    if (err instanceof EditError) throw err;
    // a damaged or foreign tokenizer file: one line naming it, not the parser's text
    throw new EditError(
      'bad-manifest',
      `the tokenizer ${where} cannot be loaded (${String((err as Error).message).split('\n')[0]})`,
    );
  }
  const tokenizer = hfTokenizer(
    encoder,
    { tokenizerJson, tokenizerConfig },
    // The padding side is the tokenizer's own (tokenizerPaddingSide); the manifest's entry only records it.
    { padId: entry.pad_id },
  );
  return { tokenizer, idCount: tokenIdCount(tokenizerJson), path: where };
}

/** How a package is opened (`Editor.open`): the one list of load options, for every host. */
export interface OpenOptions<D, R extends PackageRunner> {
  readonly device: Device;
  readonly dtype?: Dtype | 'auto';
  /** WebGPU adapter has shader-f16. */
  readonly shaderF16?: boolean;
  /**
   * The WebGPU adapter's buffer limits: a package whose least WebGPU dtype needs more is refused
   * before any download (GpuLimitError), and dtypes needing more are skipped.
   */
  readonly gpuLimits?: GpuBufferLimits;
  readonly runtime: GraphRuntime<D, R>;
  /** Builds the tokenizer.json engine (@huggingface/tokenizers' Tokenizer in both hosts). */
  readonly makeEncoder: (
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown>,
  ) => BpeEncoder;
  readonly signal?: AbortSignal;
  /** Download progress, from sources that fetch (passed to FileSource.prepare). */
  readonly onProgress?: (p: LoadProgress) => void;
  /** milliseconds clock for the engine's timings */
  readonly now?: () => number;
  /** Overrides the memory policy the package's size gives (memoryPolicy). */
  readonly memory?: MemoryPolicy;
  /**
   * Called once every file is here, before any session is made, with the bytes of the files this
   * dtype needs (the host may free memory first).
   */
  readonly beforeSessions?: (packageBytes: number) => Promise<void>;
  /**
   * Wraps the runner the engine runs on (a timing decorator, say); the editor's `runner` stays
   * the unwrapped one. The wrapper should pass `releaseGraph` on, or the memory policy frees nothing.
   */
  readonly wrapRunner?: (runner: PackageRunner) => GraphRunner;
  /**
   * A second runtime that tells a damaged graph file from a device that cannot run it (WASM
   * beside WebGPU): when a graph's session fails on `runtime`, the same files are tried on this
   * one; if they fail there too, the file is blamed, else (or when the dtype does not list this
   * runtime's device) the first error stands. Without it, a session that fails for any reason but
   * memory blames the file.
   */
  readonly verifyRuntime?: { readonly device: Device; readonly runtime: GraphRuntime<D, PackageRunner> };
}

export interface OpenedPackage<R extends PackageRunner> {
  readonly manifest: Manifest;
  readonly dtype: Dtype;
  readonly spec: ModelSpec;
  readonly runner: R;
  readonly tokenizers: { readonly clip: Tokenizer; readonly llm: Tokenizer };
  readonly engine: EditEngine;
  /** Bytes of every file this dtype needs. */
  readonly bytes: number;
  /** Which sessions stay open (from the package's size unless the host chose one). */
  readonly memory: MemoryPolicy;
}

/**
 * The checks before any download: the GPU buffers the package needs on WebGPU (webGpuBufferNeed,
 * against the adapter's limits) and the tokenizer files' declared sizes.
 */
export function checkBeforeDownload(
  manifest: Manifest,
  o: Pick<OpenOptions<unknown, PackageRunner>, 'device' | 'gpuLimits'>,
): void {
  if (o.device === 'webgpu') checkBufferLimits(webGpuBufferNeed(manifest), o.gpuLimits);
  checkDeclaredSizes(manifest);
}

/**
 * Opens a package (`Editor.open` is the way in): reads its manifest from `files` once and checks
 * it (parseRawManifest), refuses what cannot run before any download (checkBeforeDownload), picks
 * the dtype, prepares (fetches and verifies) its files, builds the tokenizers and the graph
 * runner, and checks every graph against the manifest; a mismatch releases what was loaded and
 * throws EditError('bad-manifest') naming the graph.
 */
export async function loadPackage<D, R extends PackageRunner>(
  files: FileSource<D>,
  o: OpenOptions<D, R>,
): Promise<OpenedPackage<R>> {
  const { manifest, text } = await parseRawManifest(await files.manifest(o.signal));
  await files.keepManifest?.(text);
  checkBeforeDownload(manifest, o);
  const dtype = chooseDtype(manifest, o.device, o.dtype, o.shaderF16, maxBufferBytesOf(o.gpuLimits));
  checkDeclaredShapes(manifest, dtype);
  const needed = packageFiles(manifest, dtype);
  const tableFile = needed.tokenTable;
  const all = [
    ...needed.tokenizers,
    ...GRAPH_NAMES.flatMap((g) => needed.graphs[g]),
    ...(tableFile ? [tableFile] : []),
  ];
  await files.prepare(all, o.signal, o.onProgress);
  const bytes = all.reduce((s, f) => s + f.bytes, 0);
  await o.beforeSessions?.(bytes);

  const byPath = new Map(all.map((f) => [f.path, f]));
  const read = (path: string) => files.read(byPath.get(path)!);
  const llm = await readTokenizer(manifest.tokenizers.llm, read, o.makeEncoder);
  const tokenizers = {
    clip: await packageTokenizer(manifest.tokenizers.clip, read, o.makeEncoder),
    llm: llm.tokenizer,
  };
  // Every file a graph reads is listed, verified and large enough before any runtime sees it.
  for (const g of GRAPH_NAMES)
    await checkGraphReferences(g, `dtypes.${dtype}.graphs.${g}`, needed.graphs[g], (f, range) =>
      files.read(f, range),
    );
  const tableSpec = manifest.dtypes[dtype]!.graphs.text_llm.token_table;
  // the table stays in the package's storage; a prompt reads its ≤ L rows by byte range
  const table =
    tableSpec && tableFile
      ? new TokenTable(tableSpec, (start, end) => files.read(tableFile, { start, end }))
      : null;
  if (table)
    await checkTokenTable(table, `dtypes.${dtype}.graphs.text_llm.token_table`, llm.idCount, llm.path);
  // one graph's files at a time: the runtime asks for them as it creates each session
  const graphFiles = async (graph: GraphName): Promise<GraphFiles<D>> => {
    const [model, ...chunks] = needed.graphs[graph];
    const externalData = [];
    for (const c of chunks)
      externalData.push({ name: c.path.slice(c.path.lastIndexOf('/') + 1), data: await files.graphData(c) });
    return { graph, model: await files.graphData(model!), externalData };
  };
  o.signal?.throwIfAborted();
  const sessions = await o.runtime(GRAPH_NAMES, graphFiles);
  const runner = table ? withTokenLookup(sessions, table) : sessions;
  // A session that cannot be made from verified files: the file is to blame (unless memory ran
  // out, or the verifying runtime loads the same files, when the device is).
  const signature = async (g: GraphName) => {
    try {
      return await runner.signature(g);
    } catch (err) {
      if (!mayBeFileFault(err)) throw err;
      const check = o.verifyRuntime;
      if (check) {
        // a dtype its device does not run cannot tell the file from the device: the first error stands
        if (!manifest.dtypes[dtype]!.providers.includes(check.device)) throw err;
        const other = await check.runtime([g], graphFiles);
        let loads = true;
        try {
          await other.signature(g);
        } catch (again) {
          loads = !mayBeFileFault(again);
        } finally {
          await other.release();
        }
        if (loads) throw err;
      }
      throw damagedGraph(g, needed.graphs[g][0]!, err);
    }
  };
  const memory = o.memory ?? memoryPolicy(bytes);
  // Each graph's session is made (one at a time) and checked against the manifest; under a tight
  // policy the graphs that will not stay open are freed as soon as they pass.
  const freedAtLoad = (g: GraphName) =>
    memory === 'phased' || (memory === 'release-text' && (g === 'text_clip' || g === 'text_llm'));
  try {
    for (const g of GRAPH_NAMES) {
      o.signal?.throwIfAborted();
      checkGraphSignature(g, manifest, await signature(g));
      if (freedAtLoad(g)) await runner.releaseGraph(g);
    }
  } catch (err) {
    await runner.release();
    throw err;
  }
  const spec = specFromManifest(manifest);
  const engine = new EditEngine({
    runner: o.wrapRunner ? o.wrapRunner(runner) : runner,
    tokenizers,
    spec,
    memory,
    now: o.now,
  });
  return { manifest, dtype, spec, runner, tokenizers, engine, bytes, memory };
}
