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

export class OrtWebRunner implements GraphRunner {
  private sessions = new Map<GraphName, ort.InferenceSession>();
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
    return runner;
  }

  async run(graph: GraphName, feeds: Feeds, signal?: AbortSignal): Promise<Outputs> {
    const session = this.sessions.get(graph);
    if (!session) throw new Error(`the model has no ${graph} graph loaded`);
    return serial(async () => {
      signal?.throwIfAborted();
      const inputs: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) inputs[name] = toOrt(t);
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
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await s.release().catch(() => undefined);
  }
}
