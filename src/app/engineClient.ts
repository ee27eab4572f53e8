/**
 * The UI's only door to the engine worker: typed requests in, typed replies out.
 * A lost worker is rebuilt on the next request.
 */
import { FINAL_REPLIES, PROTOCOL_VERSION } from '../protocol/messages';
import type { WorkerReply, WorkerRequest } from '../protocol/messages';

type Pending = { resolve: (r: WorkerReply) => void; onEvent?: (r: WorkerReply) => void };
const FINAL: ReadonlySet<WorkerReply['type']> = new Set(FINAL_REPLIES);

/** Distributes Omit over a union, so each request variant keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
export type RequestBody = WithoutId<WorkerRequest>;

export class EngineClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<WorkerReply>) => this.dispatch(event.data);
    worker.onerror = (event) => this.failAll(`The engine worker stopped: ${event.message || 'unknown error'}`);
    this.worker = worker;
    return worker;
  }

  private dispatch(message: WorkerReply): void {
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if (FINAL.has(message.type)) {
      this.pending.delete(message.id);
      entry.resolve(message);
    } else {
      entry.onEvent?.(message);
    }
  }

  private failAll(message: string): void {
    for (const [id, entry] of this.pending) entry.resolve({ type: 'error', id, code: 'internal', message });
    this.pending.clear();
    this.worker?.terminate();
    this.worker = null;
  }

  /** Sends a request; resolves with its final reply; streams intermediate replies to `onEvent`. */
  request(body: RequestBody, transfer: Transferable[] = [], onEvent?: (r: WorkerReply) => void): Promise<WorkerReply> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, onEvent });
      worker.postMessage({ ...body, id } as WorkerRequest, transfer);
    });
  }

  async handshake(): Promise<void> {
    const r = await this.request({ type: 'hello', version: PROTOCOL_VERSION });
    if (r.type === 'error') throw new Error(r.message);
  }

  dispose(): void {
    this.failAll('The engine was shut down.');
  }
}
