/**
 * GraphRunner on onnxruntime-web: one session per graph of the loaded package, created from
 * verified bytes, run one at a time (through ort.ts's queue, shared with every other session).
 */
import type * as Ort from 'onnxruntime-web/webgpu';
import type { GraphName, GraphRunner, GraphSignature, Feeds, Outputs, TensorSignature } from '../../ports';
import type { AnyTensor } from '../../tensor';
import type { RuntimeOptions } from '../../runtimeOptions';
import { blockThread, newSession, ort, serial, takeStall, underWatchdog } from './ort';
import type { Backend } from './ort';

/** Run times and read-back bytes of one graph. */
export interface GraphStats {
  runs: number;
  /** Milliseconds of each run, in order. */
  ms: number[];
  /** Bytes read back from the device by the last run. */
  readbackBytes: number;
}

function toOrt(t: AnyTensor): Ort.Tensor {
  switch (t.type) {
    case 'float32':
      return new ort.Tensor('float32', t.data, t.dims);
    case 'int32':
      return new ort.Tensor('int32', t.data, t.dims);
    case 'int64':
      return new ort.Tensor('int64', t.data, t.dims);
    case 'uint8':
      return new ort.Tensor('uint8', t.data, t.dims);
  }
}

async function fromOrt(t: Ort.Tensor): Promise<AnyTensor> {
  const data = await t.getData(true);
  const dims = [...t.dims];
  switch (t.type) {
    case 'float32':
      return { type: 'float32', data: data as Float32Array, dims };
    case 'int32':
      return { type: 'int32', data: data as Int32Array, dims };
    case 'int64':
      return { type: 'int64', data: data as BigInt64Array, dims };
    case 'uint8':
    case 'bool':
      return { type: 'uint8', data: data as Uint8Array, dims };
    default:
      throw new Error(`graph output of type ${t.type} is not supported`);
  }
}

/**
 * One graph's files for a session. A Blob (an OPFS File) is read by the runtime itself: the
 * JSPI build streams it tensor by tensor, the other builds read it whole, once per session.
 */
export interface GraphBytes {
  graph: GraphName;
  model: Uint8Array | Blob;
  /** External data files, by the path the graph names them with. */
  externalData?: { path: string; data: Uint8Array | Blob }[];
  /**
   * The bytes the watchdog's bounds are reckoned from, when not these files' own: a stage of a
   * graph cut for memory (the conversion's VQ decode) is given the whole graph's, since its run
   * can be much of the graph's work with few of its weights (the 512 px tail: 6.3 MiB of the
   * weights, 850 of the decode's 1,909 GFLOP).
   */
  watchBytes?: number;
}

const sizeOf = (data: Uint8Array | Blob) => (data instanceof Blob ? data.size : data.byteLength);

/** Inputs at least this large that repeat across runs are kept on the GPU (text states, reference tokens). */
const RESIDENT_MIN_BYTES = 4096;

/**
 * Keeps constant inputs on the GPU. The engine builds each edit's constant feeds once and passes
 * the same arrays at every step (kernels never mutate their inputs), so an input whose array is
 * the one seen last time is fed from the GPU buffer uploaded then, not uploaded again.
 */
class ResidentInputs {
  /** Per graph input: the array seen last, and its GPU copy once it has been seen twice. */
  private entries = new Map<
    string,
    { data: ArrayBufferView; gpu: { tensor: Ort.Tensor; buffer: GPUBuffer } | null }
  >();

  constructor(private readonly device: GPUDevice) {}

  /** The GPU tensor for a repeated input, or null to feed it from the CPU this time. */
  tensorFor(key: string, t: AnyTensor): Ort.Tensor | null {
    if (t.data.byteLength < RESIDENT_MIN_BYTES || t.type === 'uint8') return null;
    const hit = this.entries.get(key);
    if (hit?.data === t.data) {
      hit.gpu ??= this.upload(t);
      return hit.gpu.tensor;
    }
    // A new array: per-step inputs (the current tokens) land here every run and stay on the CPU.
    hit?.gpu?.buffer.destroy();
    this.entries.set(key, { data: t.data, gpu: null });
    return null;
  }

  private upload(t: AnyTensor): { tensor: Ort.Tensor; buffer: GPUBuffer } {
    const buffer = this.device.createBuffer({
      size: Math.ceil(t.data.byteLength / 16) * 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.device.queue.writeBuffer(buffer, 0, t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const dataType = t.type as 'float32' | 'int32' | 'int64';
    return { tensor: ort.Tensor.fromGpuBuffer(buffer, { dataType, dims: t.dims }), buffer };
  }

  clear(): void {
    for (const e of this.entries.values()) e.gpu?.buffer.destroy();
    this.entries.clear();
  }

  /** Drops the inputs kept for one graph (keys are "graph/input"). */
  forget(graph: string): void {
    for (const [key, e] of this.entries) {
      if (!key.startsWith(`${graph}/`)) continue;
      e.gpu?.buffer.destroy();
      this.entries.delete(key);
    }
  }
}

/**
 * WebGPU session options of the step graph, the graph that runs once per step. Defaults are the
 * measured better choice (docs/benchmarks.md); the runtime options `graphCapture` and
 * `freeDimensionOverrides` override them, which is how the benchmark measures both ways.
 */
export interface WebGpuStepOptions {
  /** Record the step's GPU commands once and replay them (all its inputs and outputs on the GPU). */
  graphCapture: boolean;
  /** Fix the free `batch` dimension to 1 (the engine always runs batch 1). */
  freeDimensionOverrides: boolean;
}

export const WEBGPU_STEP_DEFAULTS: WebGpuStepOptions = { graphCapture: false, freeDimensionOverrides: false };

/** The step graph's options: the runtime options' (src/engine/runtimeOptions.ts), else the defaults. */
export function webGpuStepOptions(options: RuntimeOptions): WebGpuStepOptions {
  return {
    graphCapture: options.graphCapture ?? WEBGPU_STEP_DEFAULTS.graphCapture,
    freeDimensionOverrides: options.freeDimensionOverrides ?? WEBGPU_STEP_DEFAULTS.freeDimensionOverrides,
  };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, int64: 8, uint8: 1, bool: 1, float16: 2 };

/**
 * A graph run under graph capture: every input and output lives in a GPU buffer that stays the
 * same from run to run (the replayed commands are bound to those buffers). Inputs are written
 * into their buffers when their array changes; the outputs are copied into one staging buffer and
 * read back with a single map.
 */
class CapturedGraph {
  private inputs = new Map<string, { data: ArrayBufferView | null; buffer: GPUBuffer; tensor: Ort.Tensor }>();
  private outputs: {
    name: string;
    type: AnyTensor['type'];
    dims: number[];
    bytes: number;
    offset: number;
    buffer: GPUBuffer;
    tensor: Ort.Tensor;
  }[] = [];
  private staging: GPUBuffer;

  constructor(
    private readonly device: GPUDevice,
    private readonly session: Ort.InferenceSession,
  ) {
    let offset = 0;
    for (const m of session.outputMetadata) {
      if (!m.isTensor || m.shape.some((d) => typeof d !== 'number'))
        throw new Error(`graph capture needs static output shapes (${m.name})`);
      const dims = m.shape as number[];
      const bytes = dims.reduce((a, b) => a * b, 1) * (BYTES[m.type] ?? 4);
      const buffer = this.gpuBuffer(bytes);
      const dataType = m.type as 'float32' | 'int32';
      this.outputs.push({
        name: m.name,
        type: m.type as AnyTensor['type'],
        dims,
        bytes,
        offset,
        buffer,
        tensor: ort.Tensor.fromGpuBuffer(buffer, { dataType, dims }),
      });
      offset += Math.ceil(bytes / 16) * 16;
    }
    this.staging = device.createBuffer({
      size: Math.max(16, offset),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  private gpuBuffer(bytes: number): GPUBuffer {
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    return this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
  }

  private feed(name: string, t: AnyTensor): Ort.Tensor {
    let slot = this.inputs.get(name);
    if (!slot) {
      const buffer = this.gpuBuffer(t.data.byteLength);
      const dataType = t.type as 'float32' | 'int32' | 'int64';
      slot = { data: null, buffer, tensor: ort.Tensor.fromGpuBuffer(buffer, { dataType, dims: t.dims }) };
      this.inputs.set(name, slot);
    }
    if (slot.data !== t.data) {
      // writeBuffer takes whole 4-byte words
      const padded = t.data.byteLength % 4 ? new Uint8Array(Math.ceil(t.data.byteLength / 4) * 4) : null;
      if (padded) padded.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      const src = padded ?? t.data;
      this.device.queue.writeBuffer(slot.buffer, 0, src.buffer, src.byteOffset, src.byteLength);
      slot.data = t.data;
    }
    return slot.tensor;
  }

  async run(feeds: Feeds): Promise<Record<string, AnyTensor>> {
    const inputs: Record<string, Ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = this.feed(name, t);
    const fetches: Record<string, Ort.Tensor> = {};
    for (const o of this.outputs) fetches[o.name] = o.tensor;
    await this.session.run(inputs, fetches);
    const encoder = this.device.createCommandEncoder();
    for (const o of this.outputs)
      encoder.copyBufferToBuffer(o.buffer, 0, this.staging, o.offset, Math.ceil(o.bytes / 4) * 4);
    this.device.queue.submit([encoder.finish()]);
    await this.staging.mapAsync(GPUMapMode.READ);
    const all = this.staging.getMappedRange().slice(0);
    this.staging.unmap();
    const result: Record<string, AnyTensor> = {};
    for (const o of this.outputs) {
      const n = o.dims.reduce((a, b) => a * b, 1);
      if (o.type === 'int32')
        result[o.name] = { type: 'int32', data: new Int32Array(all, o.offset, n), dims: o.dims };
      else if (o.type === 'float32')
        result[o.name] = { type: 'float32', data: new Float32Array(all, o.offset, n), dims: o.dims };
      else throw new Error(`graph capture: output ${o.name} of type ${o.type} is not supported`);
    }
    return result;
  }

  release(): void {
    for (const s of this.inputs.values()) s.buffer.destroy();
    for (const o of this.outputs) o.buffer.destroy();
    this.staging.destroy();
    this.inputs.clear();
  }
}

export class OrtWebRunner implements GraphRunner {
  private sessions = new Map<GraphName, Ort.InferenceSession>();
  private resident: ResidentInputs | null = null;
  private captured = new Map<GraphName, CapturedGraph>();
  /** The step graph's WebGPU options this runner was created with. */
  stepOptions: WebGpuStepOptions | null = null;
  /** Run times and read-back bytes per graph, since the last reset. */
  readonly stats = new Map<GraphName, GraphStats>();
  /** Milliseconds spent creating sessions (the runtime's part of loading). */
  loadMs = 0;

  private constructor(
    readonly backend: Backend,
    private readonly open: (graph: GraphName) => Promise<GraphBytes>,
  ) {}

  /**
   * A runner that creates each graph's session when the graph is first asked for (run or
   * signature), from the files `open` gives for it at that moment, and again after the graph is
   * released: one graph's files at a time, never the whole package.
   */
  static create(
    backend: Backend,
    open: (graph: GraphName) => Promise<GraphBytes>,
    step: WebGpuStepOptions = WEBGPU_STEP_DEFAULTS,
  ): OrtWebRunner {
    const runner = new OrtWebRunner(backend, open);
    if (backend === 'webgpu') runner.stepOptions = step;
    return runner;
  }

  /** Session creations in progress, so two callers of one graph share one session. */
  private opening = new Map<GraphName, Promise<Ort.InferenceSession>>();

  private sessionFor(graph: GraphName): Promise<Ort.InferenceSession> {
    const open = this.sessions.get(graph);
    if (open) return Promise.resolve(open);
    let pending = this.opening.get(graph);
    if (!pending) {
      pending = this.createSession(graph).finally(() => this.opening.delete(graph));
      this.opening.set(graph, pending);
    }
    return pending;
  }

  private async createSession(graph: GraphName): Promise<Ort.InferenceSession> {
    const g = await this.open(graph);
    const model = g.model instanceof Blob ? new Uint8Array(await g.model.arrayBuffer()) : g.model;
    const step = this.stepOptions;
    const isStep = step !== null && graph === 'transformer_step';
    const capture = isStep && step.graphCapture;
    const bytes =
      g.watchBytes ?? model.byteLength + (g.externalData ?? []).reduce((s, e) => s + sizeOf(e.data), 0);
    this.bytes.set(graph, bytes);
    const started = performance.now();
    const session = await serial(() => {
      const fault = takeStall(graph, 'session');
      const work = {
        graph,
        phase: 'session' as const,
        bytes,
        backend: this.backend,
        boundMs: fault?.boundMs,
      };
      return underWatchdog(work, (progress) =>
        newSession(
          this.backend,
          model,
          {
            externalData: g.externalData,
            ...(capture ? { enableGraphCapture: true, preferredOutputLocation: 'gpu-buffer' as const } : {}),
            ...(isStep && step.freeDimensionOverrides ? { freeDimensionOverrides: { batch: 1 } } : {}),
          },
          { onRange: progress, stall: fault !== null },
        ),
      );
    });
    this.loadMs += performance.now() - started;
    this.sessions.set(graph, session);
    this.opened.push(graph);
    if (this.backend === 'webgpu') {
      const device = await ort.env.webgpu.device;
      if (capture) this.captured.set(graph, new CapturedGraph(device, session));
      if (device && !this.resident) this.resident = new ResidentInputs(device);
    }
    return session;
  }

  /** Each graph's bytes (graph file and external data), known once its session was first made. */
  private bytes = new Map<GraphName, number>();

  /** Graphs whose sessions were created, in order (memory-policy checks read it). */
  readonly opened: GraphName[] = [];

  /** Whether a graph's session is held now. */
  isOpen(graph: GraphName): boolean {
    return this.sessions.has(graph);
  }

  async run(graph: GraphName, feeds: Feeds, signal?: AbortSignal): Promise<Outputs> {
    const session = await this.sessionFor(graph);
    return serial(async () => {
      signal?.throwIfAborted();
      const fault = takeStall(graph, 'run');
      const bytes = this.bytes.get(graph) ?? 0;
      const work = { graph, phase: 'run' as const, bytes, backend: this.backend, boundMs: fault?.boundMs };
      return underWatchdog(work, () => this.runNow(graph, session, feeds, fault !== null));
    });
  }

  /** One run, timed, its outputs read back (a test fault: the worker blocks instead). */
  private async runNow(
    graph: GraphName,
    session: Ort.InferenceSession,
    feeds: Feeds,
    stall: boolean,
  ): Promise<Outputs> {
    if (stall) blockThread();
    const started = performance.now();
    let result: Record<string, AnyTensor>;
    const captured = this.captured.get(graph);
    if (captured) {
      result = await captured.run(feeds);
    } else {
      const inputs: Record<string, Ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds))
        inputs[name] = this.resident?.tensorFor(`${graph}/${name}`, t) ?? toOrt(t);
      const out = await session.run(inputs);
      result = {};
      for (const [name, tensor] of Object.entries(out)) {
        result[name] = await fromOrt(tensor);
        tensor.dispose();
      }
    }
    let bytes = 0;
    for (const t of Object.values(result)) bytes += t.data.byteLength;
    const entry = this.stats.get(graph) ?? { runs: 0, ms: [], readbackBytes: 0 };
    entry.runs += 1;
    entry.ms.push(performance.now() - started);
    entry.readbackBytes = bytes;
    this.stats.set(graph, entry);
    return result;
  }

  /** The session's inputs and outputs (reopening a released graph). */
  async signature(graph: GraphName): Promise<GraphSignature> {
    const s = await this.sessionFor(graph);
    const tensor = (m: Ort.InferenceSession.ValueMetadata): TensorSignature =>
      m.isTensor ? { name: m.name, dtype: m.type, shape: [...m.shape] } : { name: m.name };
    return { inputs: s.inputMetadata.map(tensor), outputs: s.outputMetadata.map(tensor) };
  }

  /** Frees one graph's session (text encoders after encoding, when memory is tight). */
  async releaseGraph(graph: GraphName): Promise<void> {
    await serial(async () => {
      this.captured.get(graph)?.release();
      this.captured.delete(graph);
      this.resident?.forget(graph);
      const s = this.sessions.get(graph);
      this.sessions.delete(graph);
      await s?.release();
    });
  }

  async release(): Promise<void> {
    for (const c of this.captured.values()) c.release();
    this.captured.clear();
    this.resident?.clear();
    this.resident = null;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await s.release().catch(() => undefined);
  }
}
