/**
 * The UI's only door to the engine worker: typed requests in, typed replies out.
 * Long jobs take an AbortSignal (aborting sends `cancel`). A lost worker is rebuilt on the next
 * request, and listeners hear about the loss (the model must then be loaded again). Every new
 * worker is greeted with the protocol version first; a worker from another build of the app
 * answers `version-mismatch`, and every request to it fails with that (nothing else is sent).
 */
import type { LoadProgress } from '../engine/index';
import type { RuntimeOptions } from '../engine/internal';
import { FINAL_REPLIES, PROTOCOL_VERSION } from './messages';
import type {
  BackendChoice,
  BackendInfo,
  CheckpointDescriptor,
  CheckpointFound,
  ConvertProgress,
  Dtype,
  HubAuth,
  InterruptedConversion,
  WireEditResult,
  EditSettings,
  ErrorCode,
  ImagePayload,
  ModelInfo,
  StepPayload,
  WorkerReply,
  WorkerRequest,
} from './messages';

type Pending = { resolve: (r: WorkerReply) => void; onEvent?: (r: WorkerReply) => void };
type ErrorReply = Extract<WorkerReply, { type: 'error' }>;

/** What the client needs of a worker (a DOM Worker; in unit tests, a fake in the same thread). */
export interface WorkerPort {
  postMessage(message: WorkerRequest, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<WorkerReply>) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
  terminate(): void;
}

/** The engine worker of this build (vite bundles it from this exact expression). */
function engineWorker(name: string): WorkerPort {
  return new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name });
}
const FINAL: ReadonlySet<WorkerReply['type']> = new Set(FINAL_REPLIES);

/** Distributes Omit over a union, so each request variant keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
export type RequestBody = WithoutId<WorkerRequest>;

/** A failure reported by the worker, carrying its protocol code. */
export class EngineError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** The engine's LoadProgress for one file, with the whole package's bytes (what the worker reports). */
export interface PackageLoadProgress extends LoadProgress {
  file: string;
  totalLoaded: number;
  totalBytes: number;
}

export interface CacheInfo {
  bytes: number;
  /** `name`: a package opened from a folder (its `baseUrl` is its key). */
  packages: { baseUrl: string; bytes: number; name?: string }[];
}

function expect<T extends WorkerReply['type']>(r: WorkerReply, type: T): Extract<WorkerReply, { type: T }> {
  if (r.type === 'error') throw new EngineError(r.code, r.message);
  if (r.type !== type) throw new EngineError('internal', `expected a ${type} reply, got ${r.type}`);
  return r as Extract<WorkerReply, { type: T }>;
}

export class EngineClient {
  private worker: WorkerPort | null = null;
  /** The current worker's answer to the greeting: null when it speaks our protocol. */
  private greeting: Promise<ErrorReply | null> = Promise.resolve(null);
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private lostListeners = new Set<(message: string) => void>();

  /**
   * `options`: what the worker's runtime runs under instead of the defaults (src/engine/runtimeOptions.ts;
   * `diagnostics: true` makes it log verbosely, for placement checks), sent in the first request.
   * `createWorker` makes the worker (the engine worker of this build unless a test says otherwise).
   */
  constructor(
    private readonly options: RuntimeOptions = {},
    private readonly createWorker: (name: string) => WorkerPort = engineWorker,
  ) {}

  private ensureWorker(): WorkerPort {
    if (this.worker) return this.worker;
    const worker = this.createWorker('engine');
    worker.onmessage = (event: MessageEvent<WorkerReply>) => this.dispatch(event.data);
    worker.onerror = (event) => this.lose(`The engine worker stopped: ${event.message || 'unknown error'}`);
    this.worker = worker;
    const id = this.nextId++;
    this.greeting = new Promise<WorkerReply>((resolve) => {
      this.pending.set(id, { resolve });
      worker.postMessage({ type: 'hello', id, version: PROTOCOL_VERSION, options: this.options }, []);
    }).then((r) =>
      r.type === 'hello'
        ? null
        : r.type === 'error'
          ? r
          : { type: 'error', id, code: 'internal', message: `expected a hello reply, got ${r.type}` },
    );
    return worker;
  }

  private dispatch(message: WorkerReply): void {
    if (message.type === 'watch') {
      this.watch(message.watch);
      return;
    }
    if (message.type === 'error' && message.code === 'device-lost') {
      // The worker's runtime cannot get a new GPU device: answer everything with the loss and
      // start a fresh worker on the next request. A loss while idle (id 0) is told to listeners.
      const answered = this.pending.get(message.id);
      this.replaceWorker(message);
      if (!answered) for (const listener of this.lostListeners) listener(message.message);
      return;
    }
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if (FINAL.has(message.type)) {
      this.pending.delete(message.id);
      entry.resolve(message);
    } else {
      entry.onEvent?.(message);
    }
  }

  /** Answers every request in flight with `error` (each under its own id), and drops the worker. */
  private replaceWorker(error: ErrorReply): void {
    for (const [id, entry] of this.pending) entry.resolve({ ...error, id });
    this.pending.clear();
    this.watch(null);
    this.worker?.terminate();
    this.worker = null;
  }

  /** The watchdog's timer (workers/watchdog.ts): the work the worker announced last, and its bound. */
  private watchdog: ReturnType<typeof setTimeout> | null = null;

  /** The bounds the worker announced, by what it watched: kept only once the test API asks for them. */
  private bounds: Map<string, Set<number>> | null = null;

  /** The bounds announced since the last call (none before the first), by what was watched; the record starts again. */
  takeWatchBounds(): Record<string, number[]> {
    const out = Object.fromEntries(
      [...(this.bounds ?? [])].map(([what, b]) => [what, [...b].sort((x, y) => x - y)]),
    );
    this.bounds = new Map();
    return out;
  }

  /**
   * Arms (or, with null, clears) the watchdog for the worker's work in progress. When the bound
   * passes with no newer word, the worker is stopped (a hung runtime call cannot be interrupted
   * from inside it) and every request in flight fails with `stalled`; the next request starts a
   * fresh worker. With none in flight, listeners hear of the loss.
   */
  private watch(work: { what: string; boundMs: number } | null): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.watchdog = null;
    if (!work) return;
    this.bounds?.set(work.what, (this.bounds.get(work.what) ?? new Set<number>()).add(work.boundMs));
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      const seconds = Math.round(work.boundMs / 1000);
      const message = `no progress for ${seconds} s while ${work.what}`;
      const idle = this.pending.size === 0;
      this.replaceWorker({ type: 'error', id: 0, code: 'stalled', message });
      if (idle) for (const listener of this.lostListeners) listener(message);
    }, work.boundMs);
  }

  private failAll(message: string): void {
    this.replaceWorker({ type: 'error', id: 0, code: 'internal', message });
  }

  private lose(message: string): void {
    this.failAll(message);
    for (const listener of this.lostListeners) listener(message);
  }

  /** Called when the worker dies; whatever it held (the loaded model) is gone. */
  onLost(listener: (message: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Sends a request; resolves with its final reply; streams intermediate replies to `onEvent`. */
  request(
    body: RequestBody,
    transfer: Transferable[] = [],
    onEvent?: (r: WorkerReply) => void,
  ): Promise<WorkerReply> {
    return this.send(body, transfer, onEvent).reply;
  }

  /**
   * Posts once the worker has answered the greeting (requests keep their order); a worker that
   * refused it answers every request with its refusal. A request settled meanwhile (cancelled, or
   * the worker lost) is never posted.
   */
  private send(
    body: RequestBody,
    transfer: Transferable[],
    onEvent?: (r: WorkerReply) => void,
  ): { id: number; reply: Promise<WorkerReply> } {
    const worker = this.ensureWorker();
    const greeting = this.greeting;
    const id = this.nextId++;
    const reply = new Promise<WorkerReply>((resolve) => {
      this.pending.set(id, { resolve, onEvent });
      void greeting.then((refusal) => {
        if (!this.pending.has(id) || this.worker !== worker) return;
        if (refusal) {
          this.pending.delete(id);
          resolve({ ...refusal, id });
        } else worker.postMessage({ ...body, id } as WorkerRequest, transfer);
      });
    });
    return { id, reply };
  }

  /**
   * Like `send`, but an abort sends `cancel` for the request and settles it at once as
   * `cancelled`: the page does not wait for the worker to notice (a WASM run only reads its
   * messages between graph runs), and any late events of that request are dropped.
   */
  private sendCancellable(
    body: RequestBody,
    transfer: Transferable[],
    onEvent: (r: WorkerReply) => void,
    signal?: AbortSignal,
  ): Promise<WorkerReply> {
    const cancelled = (id: number): WorkerReply => ({
      type: 'error',
      id,
      code: 'cancelled',
      message: 'The request was cancelled.',
    });
    if (signal?.aborted) return Promise.resolve(cancelled(0));
    const { id, reply } = this.send(body, transfer, onEvent);
    return new Promise<WorkerReply>((resolve) => {
      const abort = () => {
        const entry = this.pending.get(id);
        if (!entry) return;
        this.pending.delete(id);
        this.worker?.postMessage(
          { type: 'cancel', id: this.nextId++, target: id } satisfies WorkerRequest,
          [],
        );
        entry.resolve(cancelled(id));
      };
      signal?.addEventListener('abort', abort, { once: true });
      void reply.then((r) => {
        signal?.removeEventListener('abort', abort);
        resolve(r);
      });
    });
  }

  /** Resolves once the worker has answered the greeting; rejects with `version-mismatch` when it speaks another protocol. */
  async handshake(): Promise<void> {
    this.ensureWorker();
    const refusal = await this.greeting;
    if (refusal) throw new EngineError(refusal.code, refusal.message);
  }

  async init(backend: BackendChoice): Promise<BackendInfo> {
    return expect(await this.request({ type: 'init', backend }), 'backend').info;
  }

  async loadModel(
    baseUrl: string,
    dtype: Dtype | 'auto',
    onProgress: (p: PackageLoadProgress) => void,
    signal?: AbortSignal,
    hubAuth?: HubAuth,
  ): Promise<ModelInfo> {
    const onEvent = (r: WorkerReply) => {
      if (r.type === 'progress') onProgress(r);
    };
    const req = { type: 'loadModel' as const, baseUrl, dtype, ...(hubAuth ? { hubAuth } : {}) };
    return expect(await this.sendCancellable(req, [], onEvent, signal), 'modelLoaded').model;
  }

  /** Runs an edit; `image` and `mask` buffers are transferred (the caller's copies become empty). */
  async edit(
    args: { image: ImagePayload; instruction: string; settings: EditSettings; mask?: ImagePayload },
    handlers: { onStep: (s: StepPayload) => void; onWarning?: (m: string) => void },
    signal?: AbortSignal,
  ): Promise<WireEditResult> {
    const transfer = [args.image.buffer, ...(args.mask ? [args.mask.buffer] : [])];
    const onEvent = (r: WorkerReply) => {
      if (r.type === 'step') handlers.onStep(r.step);
      else if (r.type === 'warning') handlers.onWarning?.(r.message);
    };
    return expect(await this.sendCancellable({ type: 'edit', ...args }, transfer, onEvent, signal), 'result')
      .result;
  }

  async wordMap(
    step: number,
    start: number,
    end: number,
  ): Promise<{ attention: Float32Array; grid: [number, number] }> {
    const r = expect(await this.request({ type: 'wordMap', step, start, end }), 'wordMap');
    return { attention: new Float32Array(r.attention), grid: r.grid };
  }

  async cacheInfo(): Promise<CacheInfo> {
    const r = expect(await this.request({ type: 'cacheInfo' }), 'cacheInfo');
    return { bytes: r.bytes, packages: r.packages };
  }

  /** Copies a package folder into the model store (progress as for a download); resolves with its key and stored bytes. */
  async importFolder(
    name: string,
    files: { path: string; file: File }[],
    onProgress: (p: PackageLoadProgress) => void,
    signal?: AbortSignal,
  ): Promise<{ baseUrl: string; name: string; bytes: number }> {
    const onEvent = (r: WorkerReply) => {
      if (r.type === 'progress') onProgress(r);
    };
    const r = expect(
      await this.sendCancellable({ type: 'importFolder', name, files }, [], onEvent, signal),
      'folderImported',
    );
    return { baseUrl: r.baseUrl, name: r.name, bytes: r.bytes };
  }

  /** What a checkpoint holds and what converting it would make (nothing is written). */
  async inspectCheckpoint(source: CheckpointDescriptor, signal?: AbortSignal): Promise<CheckpointFound> {
    return expect(
      await this.sendCancellable({ type: 'inspectCheckpoint', source }, [], () => undefined, signal),
      'checkpointFound',
    ).found;
  }

  /** Converts a checkpoint into the model store; resolves with the new package's key and name. */
  async convertCheckpoint(
    source: CheckpointDescriptor,
    dtype: Dtype,
    onProgress: (p: ConvertProgress) => void,
    signal?: AbortSignal,
  ): Promise<{ baseUrl: string; name: string }> {
    const onEvent = (r: WorkerReply) => {
      if (r.type === 'convertProgress') onProgress(r.progress);
    };
    const r = expect(
      await this.sendCancellable({ type: 'convertCheckpoint', source, dtype }, [], onEvent, signal),
      'folderImported',
    );
    return { baseUrl: r.baseUrl, name: r.name };
  }

  /** Conversions a closed or reloaded tab left unfinished. */
  async interruptedConversions(): Promise<InterruptedConversion[]> {
    return expect(await this.request({ type: 'interruptedConversions' }), 'interruptedConversions')
      .conversions;
  }

  async discardConversion(job: string): Promise<void> {
    expect(await this.request({ type: 'discardConversion', job }), 'done');
  }

  async clearCache(): Promise<void> {
    expect(await this.request({ type: 'clearCache' }), 'done');
  }

  dispose(): void {
    this.failAll('The engine was shut down.');
  }
}
