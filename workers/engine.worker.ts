/// <reference lib="webworker" />
/** The engine worker: receives typed requests, runs graphs, replies. */
import { PROTOCOL_VERSION, assertNever } from '../src/protocol/messages';
import type { WorkerReply, WorkerRequest, WireTensor } from '../src/protocol/messages';
import { createSession, pickBackend, runOnce } from './ort';

declare const self: DedicatedWorkerGlobalScope;

function reply(message: WorkerReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function buffersOf(tensors: Record<string, WireTensor>): ArrayBuffer[] {
  return Object.values(tensors).map((t) => t.buffer);
}

async function handle(req: WorkerRequest): Promise<void> {
  switch (req.type) {
    case 'hello':
      if (req.version !== PROTOCOL_VERSION) {
        reply({ type: 'error', id: req.id, code: 'version-mismatch', message: `worker speaks protocol ${PROTOCOL_VERSION}, page ${req.version}` });
        return;
      }
      reply({ type: 'hello', id: req.id, version: PROTOCOL_VERSION });
      return;
    case 'init': {
      try {
        reply({ type: 'backend', id: req.id, info: await pickBackend(req.backend) });
      } catch (err) {
        reply({ type: 'error', id: req.id, code: 'backend-unavailable', message: (err as Error).message });
      }
      return;
    }
    case 'runGraph': {
      const started = performance.now();
      try {
        const session = await createSession(req.model, req.backend);
        try {
          const outputs = await runOnce(session, req.feeds);
          reply({ type: 'graphResult', id: req.id, outputs, backend: req.backend, ms: performance.now() - started }, buffersOf(outputs));
        } finally {
          await session.release();
        }
      } catch (err) {
        reply({ type: 'error', id: req.id, code: 'graph-failed', message: (err as Error).message });
      }
      return;
    }
    case 'loadModel':
    case 'edit':
    case 'wordMap':
    case 'cacheInfo':
    case 'clearCache':
      reply({ type: 'error', id: req.id, code: 'internal', message: `${req.type} is not available yet` });
      return;
    case 'cancel':
      return;
    default:
      assertNever(req);
  }
}

// The runtime starts its WASM threads from this same script; those threads are named
// "em-pthread" and take the runtime's own messages, not ours.
if (!self.name.startsWith('em-pthread')) {
  self.addEventListener('message', (event: MessageEvent<WorkerRequest>) => {
    void handle(event.data);
  });
}
