/**
 * GraphRunner on onnxruntime-node: the only onnxruntime import on the node side. One session
 * per graph, created lazily from the package's files; runs are serialised.
 */
import * as ort from 'onnxruntime-node';
import type { Feeds, GraphName, GraphRunner, GraphSignature, Outputs, TensorSignature } from '../../ports';
import type { AnyTensor } from '../../tensor';

function toOrt(t: AnyTensor): ort.Tensor {
  return new ort.Tensor(t.type, t.data, [...t.dims]);
}

function fromOrt(t: ort.Tensor): AnyTensor {
  const dims = [...t.dims];
  switch (t.type) {
    case 'float32':
      return { type: 'float32', data: t.data as Float32Array, dims };
    case 'int32':
      return { type: 'int32', data: t.data as Int32Array, dims };
    case 'int64':
      return { type: 'int64', data: t.data as BigInt64Array, dims };
    case 'uint8':
    case 'bool':
      return { type: 'uint8', data: t.data as Uint8Array, dims };
    default:
      throw new Error(`graph output of type ${t.type} is not supported`);
  }
}

/** A graph's model bytes, made in memory, whose external data files lie in `folder`. */
export interface NodeGraphBytes {
  readonly bytes: Uint8Array;
  readonly folder: string;
}

export interface NodeRunnerOptions {
  /** graph name → path of its .onnx file (external data is found beside it), or its bytes */
  readonly files: Readonly<Partial<Record<GraphName, string | NodeGraphBytes>>>;
  readonly intraOpThreads?: number;
  /**
   * false: no CPU memory arena and no memory pattern, so each run's intermediate tensors are
   * freed as they die instead of staying in a pool that grows to the largest run (a one-off
   * job such as the converter's VQ decodes; slower allocation, far lower peak memory)
   */
  readonly memoryArena?: boolean;
  /**
   * false: convolutions keep onnxruntime's plain layout instead of its blocked NCHWc one (no
   * reordered copies of the activations: about 230 MB less at a 512 px VQ decode, about 15 % more
   * CPU time on x86)
   */
  readonly blockedLayout?: boolean;
}

export class OrtNodeRunner implements GraphRunner {
  private readonly sessions = new Map<GraphName, Promise<ort.InferenceSession>>();
  private queue: Promise<unknown> = Promise.resolve();
  /** bytes returned by the last run of each graph */
  readonly readbackBytes = new Map<GraphName, number>();
  /** wall milliseconds of the last run of each graph */
  readonly lastRunMs = new Map<GraphName, number>();

  constructor(private readonly opts: NodeRunnerOptions) {}

  private session(graph: GraphName): Promise<ort.InferenceSession> {
    let s = this.sessions.get(graph);
    if (!s) {
      const file = this.opts.files[graph];
      if (!file) return Promise.reject(new Error(`the model package has no ${graph} graph`));
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3, // errors only: fp16 graphs warn about constant folding
        ...(this.opts.memoryArena === false ? { enableCpuMemArena: false, enableMemPattern: false } : {}),
        intraOpNumThreads: this.opts.intraOpThreads ?? Number(process.env['ORT_THREADS'] ?? 0),
        // Idle pool threads sleep instead of spinning: on small or busy machines spinning threads
        // steal the cores the next run needs (steps measured 2–4× faster, docs/benchmarks.md).
        extra: {
          session: {
            intra_op: { allow_spinning: process.env['ORT_SPIN'] ?? '0' },
            ...(typeof file === 'string'
              ? {}
              : { model_external_initializers_file_folder_path: file.folder }),
          },
          ...(this.opts.blockedLayout === false
            ? { optimization: { disable_specified_optimizers: 'NchwcTransformer' } }
            : {}),
        },
      };
      s =
        typeof file === 'string'
          ? ort.InferenceSession.create(file, options)
          : ort.InferenceSession.create(file.bytes, options);
      this.sessions.set(graph, s);
      this.opened.push(graph);
    }
    return s;
  }

  run(graph: GraphName, feeds: Feeds, signal?: AbortSignal): Promise<Outputs> {
    const job = async (): Promise<Outputs> => {
      signal?.throwIfAborted();
      const session = await this.session(graph);
      const inputs: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) inputs[name] = toOrt(t);
      const started = performance.now();
      const out = await session.run(inputs);
      this.lastRunMs.set(graph, performance.now() - started);
      const result: Record<string, AnyTensor> = {};
      let bytes = 0;
      for (const [name, tensor] of Object.entries(out)) {
        const t = fromOrt(tensor);
        bytes += t.data.byteLength;
        result[name] = t;
      }
      this.readbackBytes.set(graph, bytes);
      return result;
    };
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The session's inputs and outputs (creating the session when it is not open). */
  async signature(graph: GraphName): Promise<GraphSignature> {
    const s = await this.session(graph);
    const tensor = (m: ort.InferenceSession.ValueMetadata): TensorSignature =>
      m.isTensor ? { name: m.name, dtype: m.type, shape: [...m.shape] } : { name: m.name };
    return { inputs: s.inputMetadata.map(tensor), outputs: s.outputMetadata.map(tensor) };
  }

  /** Graphs whose sessions were created, in order (memory-policy tests read it). */
  readonly opened: GraphName[] = [];

  /** Whether a graph's session is held now. */
  isOpen(graph: GraphName): boolean {
    return this.sessions.has(graph);
  }

  /** Queued behind the runs, so a session is never released under a run. */
  releaseGraph(graph: GraphName): Promise<void> {
    const job = async () => {
      const s = this.sessions.get(graph);
      this.sessions.delete(graph);
      await (await s?.catch(() => null))?.release();
    };
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s.catch(() => null))?.release();
  }
}
