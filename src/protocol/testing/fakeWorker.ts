/**
 * A fake engine worker for unit tests: a real object with postMessage/onmessage/onerror/terminate
 * that answers in the same process, after a tick, as a worker does over its message port. It
 * answers the greeting itself (in `version`); every other request goes to `respond`.
 */
import { PROTOCOL_VERSION } from '../messages';
import type { ModelInfo, WorkerReply, WorkerRequest } from '../messages';
import type { WorkerPort } from '../engineClient';

export type Respond = (req: WorkerRequest, worker: FakeWorker) => void;

export class FakeWorker implements WorkerPort {
  onmessage: ((event: MessageEvent<WorkerReply>) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  readonly posted: { message: WorkerRequest; transfer: Transferable[] }[] = [];
  terminated = false;

  constructor(
    private readonly respond: Respond,
    private readonly version = PROTOCOL_VERSION,
  ) {}

  postMessage(message: WorkerRequest, transfer: Transferable[]): void {
    this.posted.push({ message, transfer });
    // Answers arrive later, as over a real port.
    setTimeout(() => {
      if (this.terminated) return;
      if (message.type !== 'hello') return this.respond(message, this);
      this.send(
        message.version === this.version
          ? { type: 'hello', id: message.id, version: this.version }
          : {
              type: 'error',
              id: message.id,
              code: 'version-mismatch',
              message: `the engine speaks protocol ${this.version}, this page ${message.version}`,
            },
      );
    }, 0);
  }

  send(reply: WorkerReply): void {
    if (!this.terminated) this.onmessage?.({ data: reply } as MessageEvent<WorkerReply>);
  }

  crash(message: string): void {
    this.onerror?.({ message } as ErrorEvent);
  }

  terminate(): void {
    this.terminated = true;
  }

  types(): string[] {
    return this.posted.map((p) => p.message.type);
  }
}

/**
 * The model a fake worker reports loaded: a 64 px fp32 package with a 4×4 token grid on one WASM
 * thread, nothing cached, every session kept; `fields` sets the rest and overrides any of these.
 */
export function fakeModelInfo(
  fields: Pick<ModelInfo, 'name' | 'baseUrl' | 'defaults'> & Partial<ModelInfo>,
): ModelInfo {
  return {
    dtype: 'fp32',
    backend: { backend: 'wasm', threads: 1 },
    resolution: 64,
    tokenGrid: [4, 4],
    maxInstructionTokens: 16,
    suggestions: [],
    cachedBytes: 0,
    memory: 'all',
    ...fields,
  };
}
