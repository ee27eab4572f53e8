/**
 * GraphRunner on onnxruntime-web: one session per graph of the loaded package, created from
 * verified bytes, run one at a time.
 */
import * as ort from 'onnxruntime-web/webgpu';
import type { GraphName, GraphRunner, Feeds, Outputs } from '../src/engine/ports';
import type { AnyTensor } from '../src/engine/tensor';
import type { Backend, GraphStats } from '../src/protocol/messages';
import { serial } from './ort';

function toOrt(t: AnyTensor): ort.Tensor {
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

async function fromOrt(t: ort.Tensor): Promise<AnyTensor> {
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

export interface GraphBytes {
  graph: GraphName;
  model: Uint8Array;
  /** External data files, by the path the graph names them with. */
  externalData?: { path: string; data: Uint8Array }[];
}

/** Inputs at least this large that repeat across runs are kept on the GPU (text states, reference tokens). */
const RESIDENT_MIN_BYTES = 4096;

/**
 * Keeps constant inputs on the GPU. The engine builds each edit's constant feeds once and passes
 * the same arrays at every step (kernels never mutate their inputs), so an input whose array is
 * the one seen last time is fed from the GPU buffer uploaded then, not uploaded again.
 */
class ResidentInputs {
  /** Per graph input: the array seen last, and its GPU copy once it has been seen twice. */
  private entries = new Map<string, { data: ArrayBufferView; gpu: { tensor: ort.Tensor; buffer: GPUBuffer } | null }>();

  constructor(private readonly device: GPUDevice) {}

  /** The GPU tensor for a repeated input, or null to feed it from the CPU this time. */
  tensorFor(key: string, t: AnyTensor): ort.Tensor | null {
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

  private upload(t: AnyTensor): { tensor: ort.Tensor; buffer: GPUBuffer } {
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
}

export class OrtWebRunner implements GraphRunner {
  private sessions = new Map<GraphName, ort.InferenceSession>();
  private resident: ResidentInputs | null = null;
  /** Run times and read-back bytes per graph, since the last reset. */
  readonly stats = new Map<GraphName, GraphStats>();
  /** Milliseconds spent creating the sessions. */
  loadMs = 0;

  private constructor(readonly backend: Backend) {}

  static async create(backend: Backend, graphs: readonly GraphBytes[]): Promise<OrtWebRunner> {
    const runner = new OrtWebRunner(backend);
    const started = performance.now();
    try {
      for (const g of graphs) {
        const session = await serial(() =>
          ort.InferenceSession.create(g.model, {
            executionProviders: [backend],
            graphOptimizationLevel: 'all',
            externalData: g.externalData,
          }),
        );
        runner.sessions.set(g.graph, session);
      }
    } catch (err) {
      await runner.release();
      throw err;
    }
    runner.loadMs = performance.now() - started;
    if (backend === 'webgpu') {
      const device = await ort.env.webgpu.device;
      if (device) runner.resident = new ResidentInputs(device);
    }
    return runner;
  }

  async run(graph: GraphName, feeds: Feeds, signal?: AbortSignal): Promise<Outputs> {
    const session = this.sessions.get(graph);
    if (!session) throw new Error(`the model has no ${graph} graph loaded`);
    return serial(async () => {
      signal?.throwIfAborted();
      const inputs: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) inputs[name] = this.resident?.tensorFor(`${graph}/${name}`, t) ?? toOrt(t);
      const started = performance.now();
      const out = await session.run(inputs);
      const result: Record<string, AnyTensor> = {};
      let bytes = 0;
      for (const [name, tensor] of Object.entries(out)) {
        const t = await fromOrt(tensor);
        bytes += t.data.byteLength;
        result[name] = t;
        tensor.dispose();
      }
      const entry = this.stats.get(graph) ?? { runs: 0, ms: [], readbackBytes: 0 };
      entry.runs += 1;
      entry.ms.push(performance.now() - started);
      entry.readbackBytes = bytes;
      this.stats.set(graph, entry);
      return result;
    });
  }

  /** Frees one graph's session (text encoders after encoding, when memory is tight). */
  async releaseGraph(graph: GraphName): Promise<void> {
    const s = this.sessions.get(graph);
    this.sessions.delete(graph);
    await s?.release();
  }

  async release(): Promise<void> {
    this.resident?.clear();
    this.resident = null;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await s.release().catch(() => undefined);
  }
}
