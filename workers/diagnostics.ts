/// <reference lib="webworker" />
/**
 * The worker's answers to diagnostics requests (src/protocol/messages.ts `DiagnosticsRequest`):
 * one graph run, node placement, run timings, a simulated device loss, reads through the model
 * store, a stall armed for the watchdog's test. Tests, benchmarks and diagnostics send them; the app never does. Kept apart from the
 * edit path so the product's message switch stays the product's.
 */
import { assertNever } from '../src/protocol/messages';
import type { DiagnosticsRequest, WireTensor, WorkerReply } from '../src/protocol/messages';
import { sha256Hex } from './blobReader';
import { loadPackageFiles } from './modelStore';
import { wasmHeapBytes } from './wasmMemory';
import {
  armStall,
  createSession,
  loseDevice,
  nodePlacement,
  runOnce,
} from '../src/engine/runtime/web/internal';
import type { LoadedModel } from './session';

/** What a diagnostics handler needs from the engine worker. */
export interface DiagnosticsContext {
  reply(message: WorkerReply, transfer?: Transferable[]): void;
  /** Answers `id` with the error `err` maps to (the worker's own mapping). */
  fail(id: number, err: unknown): void;
  /** The model in use, if any. */
  model(): LoadedModel | null;
}

/** What the console printed since `captureConsole` (the runtime's verbose log, for placement checks). */
const runtimeLog: string[] = [];
let capturing = false;

/**
 * Keeps every console line from now on (errors still reach the console too): a worker run with
 * the `diagnostics` runtime option calls it before the runtime starts.
 */
export function captureConsole(): void {
  if (capturing) return;
  capturing = true;
  for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[m].bind(console);
    console[m] = (...args: unknown[]) => {
      runtimeLog.push(args.map(String).join(' '));
      if (m === 'error') original(...args);
    };
  }
}

function buffersOf(tensors: Record<string, WireTensor>): ArrayBuffer[] {
  return Object.values(tensors).map((t) => t.buffer);
}

export async function handleDiagnostics(req: DiagnosticsRequest, ctx: DiagnosticsContext): Promise<void> {
  const { reply } = ctx;
  switch (req.type) {
    case 'runGraph': {
      const started = performance.now();
      try {
        const session = await createSession(req.model, req.backend, req.externalData);
        try {
          const outputs = await runOnce(session, req.feeds);
          reply(
            {
              type: 'graphResult',
              id: req.id,
              outputs,
              backend: req.backend,
              ms: performance.now() - started,
            },
            buffersOf(outputs),
          );
        } finally {
          await session.release();
        }
      } catch (err) {
        reply({ type: 'error', id: req.id, code: 'graph-failed', message: (err as Error).message });
      }
      return;
    }
    case 'placement':
      try {
        reply({
          type: 'placement',
          id: req.id,
          ...(await nodePlacement(runtimeLog, req.model, req.backend, req.externalData)),
        });
      } catch (err) {
        reply({ type: 'error', id: req.id, code: 'graph-failed', message: (err as Error).message });
      }
      return;
    case 'memory':
      reply({ type: 'memory', id: req.id, wasmHeapBytes: wasmHeapBytes() });
      return;
    case 'stats': {
      const model = ctx.model();
      reply({
        type: 'stats',
        id: req.id,
        graphs: Object.fromEntries(model?.runner.stats ?? []),
        loadMs: model?.runner.loadMs ?? 0,
      });
      if (req.reset) model?.runner.stats.clear();
      return;
    }
    case 'loseDevice':
      try {
        if (ctx.model()?.backend.backend !== 'webgpu') throw new Error('no model is loaded on WebGPU');
        await loseDevice();
        reply({ type: 'done', id: req.id });
      } catch (err) {
        reply({ type: 'error', id: req.id, code: 'bad-request', message: (err as Error).message });
      }
      return;
    case 'readPackageFiles':
      try {
        const read = await loadPackageFiles(req.baseUrl, req.files, () => undefined);
        const files = [];
        for (const [path, bytes] of read)
          files.push({ path, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) });
        reply({ type: 'packageFiles', id: req.id, files });
      } catch (err) {
        ctx.fail(req.id, err);
      }
      return;
    case 'stall':
      armStall({ graph: req.graph, phase: req.phase, boundMs: req.boundMs });
      reply({ type: 'done', id: req.id });
      return;
    default:
      assertNever(req);
  }
}
