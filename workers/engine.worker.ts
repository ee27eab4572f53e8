/// <reference lib="webworker" />
/** The engine worker: receives typed requests, loads models, runs edits, streams steps back. */
import './wasmMemory'; // first: it watches the runtime's heap from its start (the memory diagnostics)
import { EditError, MEMORY_TIGHT_BYTES } from '../src/engine/index';
import type { EditRequest, RgbaImage, StepEvent } from '../src/engine/index';
import { GpuLimitError, pickBackend, setWasmThreads } from '../src/engine/runtime/web/index';
import { modelDomain, runtimeOptions } from '../src/engine/internal';
import type { RuntimeOptions } from '../src/engine/internal';
import { setRuntimeOptions, setWatcher, watchDeviceLoss } from '../src/engine/runtime/web/internal';
import { assertNever, isDiagnosticsRequest } from '../src/protocol/messages';
import type {
  BackendInfo,
  ErrorCode,
  ImagePayload,
  ProductRequest,
  StepPayload,
  WorkerReply,
  WorkerRequest,
} from '../src/protocol/messages';
import { captureConsole, handleDiagnostics } from './diagnostics';
import { answerHello } from './hello';
import { cachedBytesFor, cachedPackages, clearCache, FetchError, resolveUrl } from './modelStore';
import { FolderError, importFolder } from './folderImport';
import {
  convertCheckpoint,
  discardConversion,
  discardInterruptedConversions,
  inspectCheckpoint,
  interruptedConversions,
} from './convertCheckpoint';
import type { Progress } from './modelStore';
import { localPackageName } from '../src/protocol/localPackage';
import { loadModel } from './session';
import type { LoadedModel } from './session';
import { installWatchdog } from './watchdog';

declare const self: DedicatedWorkerGlobalScope;

/** Requests already answered for good (by a device loss); their late replies are dropped. */
const settled = new Set<number>();

function reply(message: WorkerReply, transfer: Transferable[] = []): void {
  if (settled.has(message.id)) return;
  self.postMessage(message, transfer);
}

let backend: BackendInfo | null = null;
/** The runtime options of the first request (`hello`), checked there. */
let runtime: RuntimeOptions = {};
let model: LoadedModel | null = null;
let initQueue: Promise<void> = Promise.resolve();
let loading: Promise<LoadedModel> | null = null;
const running = new Map<number, AbortController>();
/** The last finished edit: its request and the tokens each step started from (for word maps). */
let lastEdit: { model: LoadedModel; request: EditRequest; stepInputs: (Int32Array | null)[] } | null = null;

function codeOf(err: unknown): ErrorCode {
  if (err instanceof DOMException && err.name === 'AbortError') return 'cancelled';
  if (err instanceof EditError) {
    if (err.code === 'bad-manifest' || err.code === 'checksum-mismatch') return 'model-invalid';
    if (err.code === 'bad-image' || err.code === 'image-too-large') return 'bad-image';
    return 'bad-request';
  }
  if (err instanceof Error && err.name === 'IntegrityError') return 'model-invalid';
  if (err instanceof FetchError) return 'model-unavailable';
  if (err instanceof FolderError) return 'model-invalid';
  if (err instanceof GpuLimitError) return 'backend-unavailable';
  if (isDeviceLost(err)) return 'device-lost';
  return 'internal';
}

/** Set once the WebGPU device is lost: the runtime cannot get a new one in this worker. */
let deviceLost: string | null = null;

/** What the worker knows; the page says what it means and what happens next (app/lib/errors.ts). */
const LOST_MESSAGE = 'the GPU device was lost: %s';

/**
 * The device is gone: answer every request in flight now (a run on a lost device may never
 * settle), drop what they send later, and refuse new work. The page restarts this worker.
 */
function onDeviceLost(reason: string): void {
  if (deviceLost) return;
  deviceLost = reason;
  model = null;
  const message = LOST_MESSAGE.replace('%s', reason);
  const ids = [...running.keys()];
  if (ids.length === 0) reply({ type: 'error', id: 0, code: 'device-lost', message });
  for (const id of ids) {
    reply({ type: 'error', id, code: 'device-lost', message });
    settled.add(id);
    running.get(id)?.abort(new DOMException(message, 'AbortError'));
  }
}

function isDeviceLost(err: unknown): boolean {
  const m = err instanceof Error ? err.message : String(err);
  return /device (was )?lost|GPUDevice.*lost|device is lost/i.test(m);
}

function fail(id: number, err: unknown): void {
  const code = codeOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  const message =
    code === 'cancelled'
      ? 'The edit was cancelled.'
      : /out of memory|OutOfMemory/i.test(detail)
        ? `the GPU ran out of memory (${detail}); close other GPU-heavy tabs or apps, or choose a smaller package or the WASM backend`
        : detail;
  reply({ type: 'error', id, code, message });
}

async function ensureBackend(): Promise<BackendInfo> {
  await initQueue;
  backend ??= await pickBackend('auto');
  return backend;
}

function toImage(p: ImagePayload): RgbaImage {
  return { width: p.width, height: p.height, data: new Uint8ClampedArray(p.buffer) };
}

function toPayload(img: RgbaImage): ImagePayload {
  const copy = new Uint8ClampedArray(img.data);
  return { width: img.width, height: img.height, buffer: copy.buffer };
}

function stepPayload(e: StepEvent, grid: [number, number], maskTokenId: number): StepPayload {
  return {
    step: e.step,
    steps: e.steps,
    grid,
    maskTokenId,
    tokens: e.tokens.slice().buffer,
    drawn: e.drawn.slice().buffer,
    remasked: e.remasked.slice().buffer,
    attention: e.attention.slice().buffer,
    hold: e.hold.slice().buffer,
    preview: e.preview ? new Uint8ClampedArray(e.preview.data).buffer : new ArrayBuffer(0),
    elapsedMs: e.elapsedMs,
  };
}

function modelInfo(
  m: LoadedModel,
  cachedBytes: number,
): Extract<WorkerReply, { type: 'modelLoaded' }>['model'] {
  return {
    // a package opened from a folder goes by the folder's name
    name: localPackageName(m.baseUrl) ?? m.manifest.name,
    baseUrl: m.baseUrl,
    dtype: m.dtype,
    backend: m.backend,
    resolution: m.spec.width,
    tokenGrid: [m.spec.tokenGrid.h, m.spec.tokenGrid.w],
    maxInstructionTokens: m.spec.llm.maxLength,
    defaults: m.defaults,
    suggestions: m.suggestions,
    domain: modelDomain(m.manifest, (path) => resolveUrl(m.baseUrl, path)),
    cachedBytes,
    memory: m.memory,
  };
}

/**
 * Loads a package. The model loaded before keeps serving until the new one's files are all here;
 * then, if both would not fit in memory together, it is released before the new sessions are
 * made. If the new load fails or is cancelled, the previous model stays (or is opened again
 * from the store, with no download) and the error says so.
 */
async function handleLoad(req: Extract<WorkerRequest, { type: 'loadModel' }>): Promise<void> {
  const controller = new AbortController();
  running.set(req.id, controller);
  const previous = model;
  let released = false;
  try {
    const info = await ensureBackend();
    const beforeSessions = async (packageBytes: number) => {
      if (!previous || previous.bytes + packageBytes <= MEMORY_TIGHT_BYTES) return;
      model = null;
      released = true;
      await previous.runner.release();
    };
    const load = async (b: BackendInfo) =>
      loadModel(req.baseUrl, b, req.dtype, (p) => reply({ type: 'progress', id: req.id, ...p }), {
        signal: controller.signal,
        stallMs: req.stallMs,
        beforeSessions,
        runtime,
        hubAuth: req.hubAuth,
      });
    loading = load(info).catch(async (err) => {
      // A graph that fails to load on WebGPU: fall back to WASM, and say so.
      if (
        info.backend !== 'webgpu' ||
        controller.signal.aborted ||
        err instanceof EditError ||
        err instanceof FetchError ||
        err instanceof GpuLimitError
      )
        throw err;
      const reason = `the model did not load on WebGPU (${(err as Error).message}); using WASM instead`;
      reply({ type: 'warning', id: req.id, message: reason });
      backend = { backend: 'wasm', threads: info.threads, fallbackReason: reason };
      return load(backend);
    });
    const m = await loading;
    if (controller.signal.aborted) {
      // Cancelled while its sessions were being made: the page no longer expects it.
      await m.runner.release();
      throw controller.signal.reason;
    }
    model = m;
    if (previous && previous !== m && !released) await previous.runner.release();
    if (m.backend.backend === 'webgpu') await watchDeviceLoss(onDeviceLost);
    reply({ type: 'modelLoaded', id: req.id, model: modelInfo(m, await cachedBytesFor(m.baseUrl)) });
  } catch (err) {
    if (released && previous && !deviceLost) {
      // The previous model's files are stored and verified: it opens again without the network.
      try {
        model = await loadModel(previous.baseUrl, previous.backend, previous.dtype, () => undefined, {
          runtime,
        });
      } catch {
        model = null;
      }
    } else if (!released) {
      model = previous;
    }
    fail(req.id, err);
  } finally {
    loading = null;
    running.delete(req.id);
  }
}

/** Copies a package folder into the store; the model in use is not touched. */
async function handleImportFolder(req: Extract<WorkerRequest, { type: 'importFolder' }>): Promise<void> {
  const controller = new AbortController();
  running.set(req.id, controller);
  try {
    const onProgress = (p: Progress) => reply({ type: 'progress', id: req.id, ...p });
    const imported = await importFolder(req.name, req.files, onProgress, controller.signal);
    reply({ type: 'folderImported', id: req.id, ...imported });
  } catch (err) {
    fail(req.id, err);
  } finally {
    running.delete(req.id);
  }
}

/** Reads a checkpoint folder's configs and headers: what converting it would make. */
async function handleInspect(req: Extract<WorkerRequest, { type: 'inspectCheckpoint' }>): Promise<void> {
  const controller = new AbortController();
  running.set(req.id, controller);
  try {
    const found = await inspectCheckpoint(req.source, backend, controller.signal);
    reply({ type: 'checkpointFound', id: req.id, found });
  } catch (err) {
    fail(req.id, err);
  } finally {
    running.delete(req.id);
  }
}

/** Converts a checkpoint into the store (workers/convertCheckpoint.ts); the model in use stays. */
async function handleConvert(req: Extract<WorkerRequest, { type: 'convertCheckpoint' }>): Promise<void> {
  const controller = new AbortController();
  running.set(req.id, controller);
  try {
    const converted = await convertCheckpoint(req.source, req.dtype, {
      onProgress: (progress) => reply({ type: 'convertProgress', id: req.id, progress }),
      modelBackend: () => model?.backend.backend ?? null,
      signal: controller.signal,
    });
    reply({ type: 'folderImported', id: req.id, ...converted });
  } catch (err) {
    fail(req.id, err);
  } finally {
    running.delete(req.id);
  }
}

async function handleEdit(req: Extract<WorkerRequest, { type: 'edit' }>): Promise<void> {
  const controller = new AbortController();
  running.set(req.id, controller);
  try {
    if (loading) await loading.catch(() => undefined);
    const m = model;
    if (!m) throw new EditError('bad-settings', 'No model is loaded yet: pick a model first.');
    const grid: [number, number] = [m.spec.tokenGrid.h, m.spec.tokenGrid.w];
    // The protocol's settings are the engine's edit options, by the same names.
    const request: EditRequest = {
      ...req.settings,
      image: toImage(req.image),
      prompt: req.instruction,
      mask: req.mask ? toImage(req.mask) : undefined,
    };
    // Step 0 starts from the engine's start grid (null here: the engine rebuilds it on demand).
    const stepInputs: (Int32Array | null)[] = [];
    let previous: Int32Array | null = null;
    const result = await m.engine.edit(request, {
      onStep: (e) => {
        stepInputs.push(previous);
        previous = e.tokens;
        const payload = stepPayload(e, grid, m.spec.maskTokenId);
        reply({ type: 'step', id: req.id, step: payload }, [
          payload.tokens,
          payload.drawn,
          payload.remasked,
          payload.attention,
          payload.hold,
          payload.preview,
        ]);
      },
      signal: controller.signal,
    });
    lastEdit = { model: m, request, stepInputs };
    const image = toPayload(result.image);
    const modelImage = toPayload(result.modelImage);
    for (const w of result.warnings) reply({ type: 'warning', id: req.id, message: w });
    reply(
      {
        type: 'result',
        id: req.id,
        result: { image, modelImage, ms: result.elapsedMs, warnings: result.warnings },
      },
      [image.buffer, modelImage.buffer],
    );
  } catch (err) {
    // A run that failed because the device went away, before its lost promise settled.
    if (isDeviceLost(err)) onDeviceLost((err as Error).message ?? String(err));
    fail(req.id, err);
  } finally {
    running.delete(req.id);
  }
}

async function handle(req: WorkerRequest): Promise<void> {
  if (
    deviceLost &&
    (req.type === 'loadModel' || req.type === 'edit' || req.type === 'runGraph' || req.type === 'wordMap')
  ) {
    reply({
      type: 'error',
      id: req.id,
      code: 'device-lost',
      message: LOST_MESSAGE.replace('%s', deviceLost),
    });
    return;
  }
  if (isDiagnosticsRequest(req)) return handleDiagnostics(req, { reply, fail, model: () => model });
  return handleProduct(req);
}

async function handleProduct(req: ProductRequest): Promise<void> {
  switch (req.type) {
    case 'hello': {
      const answer = answerHello(req);
      if (answer.type === 'hello') {
        try {
          runtime = runtimeOptions(req.options);
        } catch (err) {
          reply({ type: 'error', id: req.id, code: 'bad-request', message: (err as Error).message });
          return;
        }
        // before the runtime starts: it fixes its log level then, and its first lines count
        if (runtime.diagnostics) captureConsole();
        setRuntimeOptions(runtime);
      }
      reply(answer);
      return;
    }
    case 'init': {
      // One backend choice at a time, in the order asked: a quick WASM choice made while a slow
      // WebGPU probe is still out must not be overwritten when the probe returns.
      const turn = initQueue.then(async () => {
        try {
          if (req.wasmThreads !== undefined) setWasmThreads(req.wasmThreads);
          backend = await pickBackend(req.backend);
          reply({ type: 'backend', id: req.id, info: backend });
        } catch (err) {
          reply({ type: 'error', id: req.id, code: 'backend-unavailable', message: (err as Error).message });
        }
      });
      initQueue = turn;
      return turn;
    }
    case 'loadModel':
      return handleLoad(req);
    case 'edit':
      return handleEdit(req);
    case 'wordMap': {
      try {
        const edit = lastEdit;
        if (!edit || edit.model !== model || !(req.step in edit.stepInputs)) {
          throw new EditError('bad-settings', 'There is no such step in the last edit.');
        }
        const input = edit.stepInputs[req.step] ?? (await edit.model.engine.startTokens(edit.request));
        const words = edit.request.prompt.slice(req.start, req.end);
        const map = await edit.model.engine.wordAttention(edit.request, input, req.step, words);
        if (!map)
          throw new EditError('bad-settings', `"${words}" is not a word the model read in the instruction.`);
        const { h, w } = edit.model.spec.tokenGrid;
        const attention = map.tokens.slice().buffer;
        reply({ type: 'wordMap', id: req.id, attention, grid: [h, w] }, [attention]);
      } catch (err) {
        fail(req.id, err);
      }
      return;
    }
    case 'cacheInfo': {
      const packages = await cachedPackages();
      reply({
        type: 'cacheInfo',
        id: req.id,
        bytes: packages.reduce((s, p) => s + p.bytes, 0),
        packages: packages.map((p) =>
          p.local
            ? { baseUrl: p.local.url, bytes: p.bytes, name: p.local.name }
            : { baseUrl: p.key, bytes: p.bytes },
        ),
      });
      return;
    }
    case 'importFolder':
      return handleImportFolder(req);
    case 'inspectCheckpoint':
      return handleInspect(req);
    case 'convertCheckpoint':
      return handleConvert(req);
    case 'interruptedConversions':
      reply({ type: 'interruptedConversions', id: req.id, conversions: await interruptedConversions() });
      return;
    case 'discardConversion':
      await discardConversion(req.job);
      reply({ type: 'done', id: req.id });
      return;
    case 'clearCache':
      await clearCache();
      await discardInterruptedConversions();
      reply({ type: 'done', id: req.id });
      return;
    case 'cancel':
      running.get(req.target)?.abort(new DOMException('The edit was cancelled.', 'AbortError'));
      reply({ type: 'done', id: req.id });
      return;
    default:
      assertNever(req);
  }
}

// The runtime starts its WASM threads from this same script; those threads are named
// "em-pthread" and take the runtime's own messages, not ours.
if (!self.name.startsWith('em-pthread')) {
  installWatchdog(setWatcher, (message) => self.postMessage(message));
  self.addEventListener('message', (event: MessageEvent<WorkerRequest>) => {
    // Every request gets an answer: a failure no handler caught becomes its error reply.
    handle(event.data).catch((err: unknown) => fail(event.data.id, err));
  });
}
