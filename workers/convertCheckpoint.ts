/**
 * A checkpoint converted in the tab (docs/convert.md): the converter core (`convertPackage`) runs
 * here in the worker on a `CheckpointSource` (checkpointSources.ts), with the shipped templates
 * fetched from the app's origin (templatesSource.ts), and writes the package into a job folder
 * of the Origin Private File System (storeWriter.ts). The codebook colours' VQ decode runs on
 * onnxruntime-web (WASM) on the vq_decode graph just written. Only when the whole package is
 * written and its manifest made are its files moved into the model store under their sha256, with
 * the verified mark, and its record (`local.json`) written last: a conversion that fails, is
 * cancelled, or fills the storage leaves nothing that is listed or could be opened.
 *
 * A job folder holds `job.json` (name, dtype, start) and is locked (Web Locks) while its
 * conversion runs, so a folder left by a closed tab is told from one still being written, and
 * offered again after a reload. The browser does not keep access to the checkpoint's files across
 * a reload, so the person chooses the folder (or opens the hf: link) again; the graphs already
 * written whole are kept and only the others are converted.
 */
import {
  CheckpointError,
  HubError,
  convertPackage,
  dtypePreference,
  inlineExternalData,
  openCheckpoint,
  packagePaths,
  plain,
  readWeightMap,
  splitStages,
  templateGraphs,
} from '../src/engine/internal';
import type { Checkpoint, CheckpointSource, DecodeVq } from '../src/engine/internal';
import type { BackendInfo, Dtype, Feeds, Outputs } from '../src/engine/index';
import { OrtWebRunner } from '../src/engine/runtime/web/index';
import { loadRuntime } from '../src/engine/runtime/web/internal';
import type {
  CheckpointDescriptor,
  CheckpointFound,
  ConvertProgress,
  InterruptedConversion,
} from '../src/protocol/messages';
import { localPackageUrl } from '../src/protocol/localPackage';
import { checkpointSourceOf } from './checkpointSources';
import { FolderError } from './folderImport';
import { fileIfExists, removeEntry, writeSmallFile } from './opfs';
import { LOCAL_ORIGIN, packageDir, removePackage, verifiedMark } from './modelStore';
import { CONVERTING_DIR, createStoreWriter } from './storeWriter';
import { findTemplates } from './templatesSource';

/** Subfolders and files that make a folder look like a checkpoint (the reader then decides). */
const CHECKPOINT_MARKS =
  /^(editmgt|transformer|vqvae|text_encoder|llm_encoder|tokenizer|scheduler)\/|^model_index\.json$/;

/** What to do about a checkpoint the reader refuses. */
const WHOLE_FOLDER =
  "This checkpoint cannot be converted as it is: choose the checkpoint's whole folder as it was published (every subfolder, safetensors weights), or download it again.";

/** A reader's message that already says what to do. */
const GIVES_ADVICE = /[Cc]hoose |make templates|npm run convert|Save the model|download it again/;

const LOCK_PREFIX = 'editmgt-convert/';
const PROGRESS_INTERVAL_MS = 100;

function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

type TemplateManifest = ReturnType<typeof plain> & {
  dtypes: Record<
    string,
    { providers: string[]; graphs: Record<string, { file: string; external_data?: string[] }> }
  >;
  files: { path: string; bytes: number }[];
  config: { resolution?: number };
};

/**
 * The hub refused a file of a hub checkpoint it had let the offer read (401/403): the token was
 * revoked or has expired, or access was withdrawn. Said as a package download says it.
 */
function hubRefusal(descriptor: CheckpointDescriptor, err: unknown): FolderError | null {
  if (descriptor.kind !== 'hub' || !(err instanceof HubError) || (err.status !== 401 && err.status !== 403))
    return null;
  const tokens = `${new URL(descriptor.endpoint).origin}/settings/tokens`;
  const why = descriptor.hubAuth
    ? `the token given may have been revoked or have expired, or its access to the repository was withdrawn. Create a read token at ${tokens} and open hf:${descriptor.repo} again`
    : `the repository may have become gated or private. Open hf:${descriptor.repo} again to give a token`;
  return new FolderError(
    `The hub refused the download of hf:${descriptor.repo} (HTTP ${err.status}): ${why}`,
  );
}

async function openSource(descriptor: CheckpointDescriptor, signal?: AbortSignal) {
  try {
    return await readSource(descriptor, signal);
  } catch (err) {
    const refused = hubRefusal(descriptor, err);
    if (refused) throw refused;
    // the reader's message names the file; the worker reports it as a folder that cannot be used
    if (!(err instanceof CheckpointError)) throw err;
    throw new FolderError(GIVES_ADVICE.test(err.message) ? err.message : `${err.message}. ${WHOLE_FOLDER}`);
  }
}

async function readSource(descriptor: CheckpointDescriptor, signal?: AbortSignal) {
  const source = await checkpointSourceOf(descriptor);
  const files = await source.list(signal);
  if (!files.some((f) => CHECKPOINT_MARKS.test(f)))
    throw new FolderError(
      `${source.name} has no manifest.json: it is not a model package. Choose the folder that holds a converted package's manifest.json, or an EditMGT checkpoint's folder (with its subfolders editmgt or transformer, vqvae, text_encoder, llm_encoder, tokenizer and scheduler; this folder has none of them).`,
    );
  const ckpt = await openCheckpoint(source, { signal });
  const templates = await findTemplates(ckpt, signal);
  return { source, ckpt, templates, manifest: plain(templates.manifest) as TemplateManifest };
}

/**
 * The package's bytes in one dtype by the templates' manifest: its graphs' files (a graph shared
 * with another dtype included), the tokenizers and the files the templates carry.
 */
function dtypeBytes(manifest: TemplateManifest, dtype: string, templates: string): number {
  const paths = new Set(packagePaths(manifest, [dtype], `${templates}/manifest.json`));
  return manifest.files.filter((f) => paths.has(f.path)).reduce((s, f) => s + f.bytes, 0);
}

function describe(ckpt: Checkpoint, manifest: TemplateManifest, templates: string): string {
  const t = ckpt.configs.transformer;
  const n = (k: string) => (typeof t[k] === 'number' ? String(t[k]) : '?');
  return `EditMGT checkpoint: transformer of ${n('num_layers')} + ${n('num_single_layers')} layers, ${n('num_attention_heads')} heads of ${n('attention_head_dim')}, codebook of ${n('codebook_size')}; ${manifest.config.resolution ?? '?'} px (templates ${templates})`;
}

async function freeStorage(): Promise<number | null> {
  const estimate = await navigator.storage.estimate().catch(() => null);
  return estimate?.quota !== undefined && estimate.usage !== undefined
    ? Math.max(0, estimate.quota - estimate.usage)
    : null;
}

/** What converting `descriptor` would make on `backend`: read only (configs and weights' headers). */
export async function inspectCheckpoint(
  descriptor: CheckpointDescriptor,
  backend: BackendInfo | null,
  signal?: AbortSignal,
): Promise<CheckpointFound> {
  const { source, ckpt, templates, manifest } = await openSource(descriptor, signal);
  const device = backend?.backend ?? 'wasm';
  const runs = Object.entries(manifest.dtypes)
    .filter(([, d]) => d.providers.includes(device))
    .map(([d]) => d as Dtype);
  if (runs.length === 0)
    throw new FolderError(
      `the converter's templates (${templates.name}) make no dtype that ${device} runs; switch the backend in Settings`,
    );
  const preferred = dtypePreference(device, backend?.shaderF16 ?? false).find((d) => runs.includes(d));
  let checkpointBytes = 0;
  for (const path of await source.list(signal)) checkpointBytes += (await source.open(path, signal)).size;
  return {
    name: source.name,
    model: describe(ckpt, manifest, templates.name),
    checkpointBytes,
    dtypes: runs.map((d) => ({ dtype: d, bytes: dtypeBytes(manifest, d, templates.name) })),
    dtype: preferred ?? runs[0]!,
    freeBytes: await freeStorage(),
  };
}

/** Counts tensors done from the bytes written at each weight map entry's place. */
async function tensorCounter(templates: CheckpointSource, manifest: TemplateManifest, dtype: string) {
  const places = new Map<string, { offset: number; end: number; left: number }[]>();
  let total = 0;
  // each graph where the conversion writes it (a graph shared with another dtype is in its folder)
  for (const { graph, folder } of templateGraphs(manifest, [dtype], `${templates.name}/manifest.json`)) {
    // the core's reader: the same UTF-8 and JSON checks and messages as the conversion's own read
    const map = await readWeightMap(templates, `${folder}/${graph}.weights.json`);
    for (const e of map.entries) {
      const path = `${folder}/${e.place.file}`;
      let list = places.get(path);
      if (!list) places.set(path, (list = []));
      list.push({ offset: e.place.offset, end: e.place.offset + e.place.length, left: e.place.length });
      total++;
    }
  }
  for (const list of places.values()) list.sort((a, b) => a.offset - b.offset);
  let done = 0;
  return {
    total,
    get done() {
      return done;
    },
    wrote(path: string, offset: number, length: number) {
      const list = places.get(path);
      if (!list) return;
      const end = offset + length;
      // the first place that ends after `offset`
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid]!.end <= offset) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < list.length && list[i]!.offset < end; i++) {
        const p = list[i]!;
        if (p.left <= 0) continue;
        p.left -= Math.min(end, p.end) - Math.max(offset, p.offset);
        if (p.left <= 0) done++;
      }
    },
  };
}

async function convertingRoot(): Promise<FileSystemDirectoryHandle | null> {
  try {
    return await (
      await navigator.storage.getDirectory()
    ).getDirectoryHandle(CONVERTING_DIR, { create: true });
  } catch {
    return null;
  }
}

function isQuotaError(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'QuotaExceededError';
}

/**
 * Frees `buffer`'s memory now (`ArrayBuffer.prototype.transfer` to length 0 detaches it), rather
 * than when the collector next runs; where the browser lacks `transfer`, the collector frees it.
 */
function freeBuffer(buffer: ArrayBuffer): void {
  const b = buffer as ArrayBuffer & { detached?: boolean; transfer?: (length: number) => ArrayBuffer };
  if (typeof b.transfer === 'function' && b.detached !== true) b.transfer(0);
}

/**
 * The vq_decode graph of the package being written, run on onnxruntime-web (WASM), in stages
 * (graphStages.ts `splitStages`), each stage's session made, run and released in turn for every
 * grid, so the VQ-GAN's weights and its 512 px activations are never in the WASM heap together (as
 * on node, runtime/node/convert/vqDecode.ts); a graph with no cut runs whole in one session.
 * This runtime build copies a session's weights into its heap from data it is handed whole, and
 * the heap never shrinks: after the first grid it is as large as the 512 px activations, and any
 * weights held in JS while a session is made come on top. So each stage carries its weights
 * inside its graph, read from the store for its session (tensor by tensor, into one buffer) and
 * handed back as soon as it is done (`freeBuffer`); the stages hold at most a quarter of the weights
 * each (the published VQ-GAN: 334 MiB in about 80 MiB stages), the 512 px tail (6.3 MiB) is
 * inlined once. Given the stored data file instead, every session read all 334 MiB of it.
 */
function decodeVqWith(
  writer: Awaited<ReturnType<typeof createStoreWriter>>,
  manifest: TemplateManifest,
  restoreBackend: () => BackendInfo['backend'] | null,
  onGridsDone: (done: number, total: number) => void,
  signal?: AbortSignal,
): DecodeVq {
  return async ({ graphFile, ids, grids, tokenGrid, onGrid }) => {
    writer.closeAll();
    const entry = Object.values(manifest.dtypes)
      .flatMap((d) => Object.values(d.graphs))
      .find((g) => g.file === graphFile);
    const model = new Uint8Array(await (await writer.file(graphFile)).arrayBuffer());
    // the graph in stages of at most a quarter of its weights each, the 512 px tail last
    const stages = splitStages(model, graphFile, { maxShare: 1 / 4 });
    const dataFiles = new Map(
      await Promise.all(
        (entry?.external_data ?? []).map(
          async (p) => [p.slice(p.lastIndexOf('/') + 1), await writer.file(p)] as const,
        ),
      ),
    );
    const readRange = async (location: string, offset: number, length: number) => {
      const file = dataFiles.get(location);
      if (!file) throw new Error(`${graphFile} reads ${location}, which its manifest entry does not list`);
      return new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
    };
    // every stage watched as the whole graph: the 512 px tail has a fiftieth of the weights but the
    // 128-channel 512 px layers (850 of the decode's 1,909 GFLOP), and its bound by its own size
    // (67 s) stopped a conversion on a busy machine
    const watchBytes = model.byteLength + [...dataFiles.values()].reduce((s, f) => s + f.size, 0);
    // the tail's few MiB inline once, for every grid
    const tail = stages.length > 1 ? await inlineExternalData(stages.at(-1)!, graphFile, readRange) : null;
    // a graph with no cut: one session for all grids, given the stored data files
    const whole =
      stages.length === 1
        ? OrtWebRunner.create('wasm', async () => ({
            graph: 'vq_decode',
            model,
            externalData: [...dataFiles].map(([path, data]) => ({ path, data })),
          }))
        : null;
    /** One stage's session made, run and released; a stage inlined for it is handed back after. */
    const runStage = async (bytes: Uint8Array, feeds: Feeds, inline: boolean): Promise<Outputs> => {
      const graph = inline ? await inlineExternalData(bytes, graphFile, readRange) : bytes;
      const runner = OrtWebRunner.create('wasm', async () => ({
        graph: 'vq_decode',
        model: graph,
        watchBytes,
      }));
      try {
        return await runner.run('vq_decode', feeds, signal);
      } finally {
        await runner.release();
        // only a buffer made for this session (never the stage's own bytes, used again next grid)
        if (graph !== bytes) freeBuffer(graph.buffer as ArrayBuffer);
      }
    };
    const decode = async (feeds: Feeds): Promise<Outputs> => {
      if (whole) return whole.run('vq_decode', feeds, signal);
      let x: Feeds = feeds;
      for (const stage of stages.slice(0, -1)) x = await runStage(stage, x, true);
      return runStage(tail!, x, false);
    };
    try {
      const [h, w] = tokenGrid;
      const parts: Float32Array[] = [];
      let dims: readonly number[] = [];
      onGridsDone(0, grids);
      for (let m = 0; m < grids; m++) {
        const out = await decode({
          ids: { type: 'int32', data: ids.slice(m * h * w, (m + 1) * h * w), dims: [1, h, w] },
        });
        const pixels = out['pixels'];
        if (!pixels || pixels.type !== 'float32') throw new Error(`${graphFile} gave no float32 pixels`);
        dims = pixels.dims;
        // each grid handed on as it is decoded, when the converter takes them so: none are gathered
        if (onGrid) onGrid(pixels.data, dims[2]!, dims[3]!);
        else parts.push(pixels.data);
        onGridsDone(m + 1, grids);
      }
      const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      return { pixels: all, height: dims[2]!, width: dims[3]! };
    } finally {
      await whole?.release();
      // the model in use runs on its own build of the runtime again
      const backend = restoreBackend();
      if (backend) await loadRuntime(backend);
    }
  };
}

/**
 * Converts the checkpoint into the model store in `dtype`; resolves with the new package's key
 * and name (the folder's). Throws naming the file on bad input; leaves nothing on any failure.
 */
export async function convertCheckpoint(
  descriptor: CheckpointDescriptor,
  dtype: Dtype,
  options: {
    onProgress: (p: ConvertProgress) => void;
    /** the backend of the model in use, whose runtime build is restored after the VQ decode */
    modelBackend: () => BackendInfo['backend'] | null;
    signal?: AbortSignal;
  },
): Promise<{ baseUrl: string; name: string; bytes: number }> {
  const { signal } = options;
  const started = performance.now();
  const progress: ConvertProgress = {
    phase: 'reading',
    graph: null,
    bytesWritten: 0,
    totalBytes: 0,
    tensorsDone: 0,
    tensorsTotal: 0,
    elapsedMs: 0,
    colours: null,
  };
  let coloursStarted = 0;
  let lastSent = 0;
  const send = (force = false) => {
    const now = performance.now();
    if (!force && now - lastSent < PROGRESS_INTERVAL_MS) return;
    lastSent = now;
    options.onProgress({ ...progress, elapsedMs: now - started });
  };
  send(true);
  const { source, templates, manifest } = await openSource(descriptor, signal);
  if (!manifest.dtypes[dtype])
    throw new FolderError(
      `the converter's templates (${templates.name}) have no ${dtype} dtype (they have ${Object.keys(manifest.dtypes).join(', ')})`,
    );
  const name = source.name;
  const totalBytes = dtypeBytes(manifest, dtype, templates.name);
  const free = await freeStorage();
  if (free !== null && totalBytes > free)
    throw new FolderError(
      `Not enough storage to convert ${name}: the ${dtype} package needs ${formatBytes(totalBytes)}, and this browser lets the app store ${formatBytes(free)}. Clear the model cache, free disk space, or choose a smaller dtype.`,
    );
  const root = await convertingRoot();
  if (!root)
    throw new FolderError(
      'This browser gives the app no storage here (a private window?): a checkpoint cannot be converted in it.',
    );
  const tensors = await tensorCounter(templates.source, manifest, dtype);
  progress.totalBytes = totalBytes;
  progress.tensorsTotal = tensors.total;

  const fingerprint = await sourceFingerprint(descriptor, source, signal);
  const graphsTotal = Object.keys(manifest.dtypes[dtype]!.graphs).length;
  // an unfinished conversion of the same folder, dtype and templates goes on from its finished graphs
  const before = (await interruptedJobs(root)).find(
    (j) =>
      j.info.name === name &&
      j.info.dtype === dtype &&
      j.info.fingerprint === fingerprint &&
      j.info.templates === templates.name,
  );
  const jobName = before?.info.job ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const gotLock = await new Promise<boolean>((r) => {
    void navigator.locks.request(`${LOCK_PREFIX}${jobName}`, { ifAvailable: true }, (lock) => {
      r(lock !== null);
      return lock ? held : undefined;
    });
  });
  if (!gotLock)
    throw new FolderError(
      `${name} is being converted in another tab already: wait for it there, or close that tab.`,
    );
  const job = await root.getDirectoryHandle(jobName, { create: true });
  let baseUrl: string | null = null;
  let listedBefore = false;
  let writing = `${name}`;
  let writer: Awaited<ReturnType<typeof createStoreWriter>> | null = null;
  try {
    const info: JobInfo = before?.info ?? {
      job: jobName,
      name,
      dtype,
      startedAt: Date.now(),
      fingerprint,
      templates: templates.name,
      graphs: {},
      graphsDone: 0,
      graphsTotal,
      from: descriptor.kind === 'hub' ? `hf:${descriptor.repo}@${descriptor.commit}` : name,
    };
    const saveInfo = () =>
      writeSmallFile(
        job,
        'job.json',
        new TextEncoder().encode(JSON.stringify({ ...info, graphsDone: Object.keys(info.graphs).length })),
      );
    await saveInfo();
    let keptBytes = 0;
    const out = await createStoreWriter(job, (path, offset, length) => {
      writing = `${name} → ${path}`;
      tensors.wrote(path, offset, length);
      progress.bytesWritten = keptBytes + out.written;
      progress.tensorsDone = tensors.done;
      send();
    });
    writer = out;
    progress.phase = 'converting';
    const result = await convertPackage({
      source,
      templates: templates.source,
      writer: out,
      dtypes: [dtype],
      name,
      sourceId: name,
      decodeVq: decodeVqWith(
        out,
        manifest,
        options.modelBackend,
        (gridsDone, gridsTotal) => {
          // the colours' decode is its own phase, with its own pace (minutes at full size)
          const now = performance.now();
          if (progress.phase !== 'colours') {
            progress.phase = 'colours';
            coloursStarted = now;
          }
          progress.colours = { gridsDone, gridsTotal, elapsedMs: now - coloursStarted };
          send(true);
        },
        signal,
      ),
      resume: {
        async done(d, graph) {
          const files = info.graphs[`${d}/${graph}`];
          if (!files) return null;
          for (const f of files) {
            const size = await out.size(f);
            keptBytes += size;
            tensors.wrote(f, 0, size);
          }
          return files;
        },
        async finished(d, graph, files) {
          // on disk before the record says so: a graph recorded is a graph whole
          out.closeAll();
          info.graphs[`${d}/${graph}`] = [...files];
          await saveInfo();
        },
      },

      signal,
      log: (line) => {
        if (/^[^/]+\/[^/]+$/.test(line)) {
          progress.graph = line;
          progress.phase = 'converting';
          progress.colours = null;
        }
        send(true);
      },
    });
    out.closeAll();
    signal?.throwIfAborted();
    progress.phase = 'storing';
    progress.colours = null;
    progress.tensorsDone = tensors.total;
    send(true);

    // into the model store: each file under its sha256 with its mark, the manifest, the record last
    const packaged = result.manifest as { files: { path: string; bytes: number; sha256: string }[] };
    const manifestFile = await out.file('manifest.json');
    const manifestBytes = new Uint8Array(await manifestFile.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', manifestBytes));
    const sha = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
    baseUrl = localPackageUrl(name, sha);
    const dir = await packageDir(baseUrl);
    if (!dir)
      throw new FolderError('This browser gives the app no storage here: the package cannot be kept.');
    listedBefore = (await fileIfExists(dir, LOCAL_ORIGIN)) !== null;
    for (const f of packaged.files) {
      signal?.throwIfAborted();
      writing = `${name} → ${f.path}`;
      if (
        (await fileIfExists(dir, verifiedMark(f.sha256))) &&
        (await fileIfExists(dir, f.sha256))?.size === f.bytes
      )
        continue; // the same bytes are stored already (another package shares them)
      const handle = await out.handle(f.path);
      await removeEntry(dir, f.sha256);
      const move = (
        handle as FileSystemFileHandle & {
          move?: (dir: FileSystemDirectoryHandle, name: string) => Promise<void>;
        }
      ).move;
      let moved = false;
      if (move)
        moved = await move.call(handle, dir, f.sha256).then(
          () => true,
          () => false,
        );
      if (!moved) {
        // no move across folders here: copied block by block (the writer's one read buffer)
        const target = await (await dir.getFileHandle(f.sha256, { create: true })).createSyncAccessHandle();
        try {
          target.truncate(0);
          let at = 0;
          for await (const block of out.readBlocks(f.path, signal)) at += target.write(block, { at });
          target.flush();
        } finally {
          target.close();
          out.closeAll();
        }
      }
      await writeSmallFile(dir, verifiedMark(f.sha256), new Uint8Array(0));
    }
    await writeSmallFile(dir, 'manifest.json', manifestBytes);
    await writeSmallFile(dir, LOCAL_ORIGIN, new TextEncoder().encode(JSON.stringify({ url: baseUrl, name })));
    progress.bytesWritten = progress.totalBytes;
    send(true);
    return { baseUrl, name, bytes: packaged.files.reduce((s, f) => s + f.bytes, 0) };
  } catch (err) {
    if (baseUrl && !listedBefore) await removePackage(baseUrl);
    if (isQuotaError(err))
      throw new FolderError(
        `The browser's storage filled up while ${writing} was written. Free disk space or clear the model cache, then convert the folder again.`,
      );
    const refused = hubRefusal(descriptor, err);
    if (refused) throw refused;
    if (err instanceof CheckpointError)
      throw new FolderError(GIVES_ADVICE.test(err.message) ? err.message : `${err.message}. ${WHOLE_FOLDER}`);
    throw err;
  } finally {
    // the open sync access handles first: a folder with one open cannot be removed
    try {
      writer?.closeAll();
    } catch {
      // a handle that cannot be flushed (the storage is full) is closed all the same
    }
    await root.removeEntry(jobName, { recursive: true }).catch(() => undefined);
    release();
  }
}

/** A job folder's record: what it converts, from which files, and the graphs written whole. */
interface JobInfo extends InterruptedConversion {
  fingerprint: string;
  templates: string;
  /** `<dtype>/<graph>` → the package files it wrote */
  graphs: Record<string, string[]>;
}

/**
 * What identifies the checkpoint's bytes without reading them: every file's path and size, and
 * for files chosen on the page their modification times (a hub source's name holds its commit).
 */
async function sourceFingerprint(
  descriptor: CheckpointDescriptor,
  source: CheckpointSource,
  signal?: AbortSignal,
): Promise<string> {
  const lines: string[] = [];
  const modified = new Map(
    descriptor.kind === 'files' ? descriptor.files.map((f) => [f.path, f.file.lastModified]) : [],
  );
  for (const path of await source.list(signal))
    lines.push(`${path}\t${(await source.open(path, signal)).size}\t${modified.get(path) ?? ''}`);
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(lines.join('\n'))),
  );
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Job folders whose conversion no tab is running (a closed or reloaded tab left them). */
async function interruptedJobs(root: FileSystemDirectoryHandle): Promise<{ info: JobInfo }[]> {
  const held = new Set(((await navigator.locks.query()).held ?? []).map((l) => l.name));
  const out: { info: JobInfo }[] = [];
  for await (const [jobName, handle] of (
    root as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }
  ).entries()) {
    if (handle.kind !== 'directory' || held.has(`${LOCK_PREFIX}${jobName}`)) continue;
    const file = await fileIfExists(handle as FileSystemDirectoryHandle, 'job.json');
    const info = file ? ((await file.text().then(JSON.parse, () => null)) as JobInfo | null) : null;
    if (info && typeof info.name === 'string' && info.graphs && typeof info.graphs === 'object')
      out.push({ info: { ...info, job: jobName, graphsDone: Object.keys(info.graphs).length } });
    else await root.removeEntry(jobName, { recursive: true }).catch(() => undefined);
  }
  return out.sort((a, b) => a.info.startedAt - b.info.startedAt);
}

/** Conversions a closed or reloaded tab left unfinished. */
export async function interruptedConversions(): Promise<InterruptedConversion[]> {
  const root = await convertingRoot();
  if (!root) return [];
  return (await interruptedJobs(root)).map(({ info }) => ({
    job: info.job,
    name: info.name,
    dtype: info.dtype,
    startedAt: info.startedAt,
    graphsDone: info.graphsDone,
    graphsTotal: info.graphsTotal,
    from: typeof info.from === 'string' ? info.from : info.name,
  }));
}

/** Removes what an unfinished conversion wrote (never one still running). */
export async function discardConversion(jobName: string): Promise<void> {
  const root = await convertingRoot();
  if (!root || jobName.includes('/')) return;
  const held = new Set(((await navigator.locks.query()).held ?? []).map((l) => l.name));
  if (held.has(`${LOCK_PREFIX}${jobName}`)) return;
  await root.removeEntry(jobName, { recursive: true }).catch(() => undefined);
}

/** Removes every conversion no tab is running (the model cache cleared). */
export async function discardInterruptedConversions(): Promise<void> {
  const root = await convertingRoot();
  if (!root) return;
  for (const { info } of await interruptedJobs(root))
    await root.removeEntry(info.job, { recursive: true }).catch(() => undefined);
}
