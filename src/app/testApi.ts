/**
 * A small typed API on `window.__editmgt` for end-to-end tests and diagnostics.
 * It drives the same worker the UI uses, and reads the editor's state as plain data.
 */
import type { Backend, BackendChoice, BackendInfo, WireTensor } from '../protocol/messages';
import { EngineClient } from './engineClient';

export interface EditorSnapshot {
  editState: string;
  modelStatus: string;
  model: { name: string; dtype: string; backend: Backend; resolution: number; tokenGrid: [number, number] } | null;
  image: { width: number; height: number } | null;
  result: { width: number; height: number } | null;
  history: { length: number; cursor: number };
  /** `stepElapsedMs`: the worker's elapsed time at each step so far. */
  run: { status: string; frames: number; steps: number; stepElapsedMs: number[]; ms: number | null } | null;
  error: { source: string; code: string | null; message: string } | null;
}

export interface TestApi {
  backend(choice: BackendChoice): Promise<BackendInfo>;
  runGraph(
    model: ArrayBuffer,
    feeds: Record<string, WireTensor>,
    backend: Backend,
  ): Promise<{ outputs: Record<string, WireTensor>; ms: number }>;
  /** Which nodes of a graph the runtime places on the CPU provider (see workers/ort.ts). */
  placement(model: ArrayBuffer, backend: Backend): Promise<{ cpuNodes: string[]; log: string[] }>;
  /** The editor's state now. */
  snapshot(): Promise<EditorSnapshot>;
  /** Resolves once history and settings are written to IndexedDB. */
  flush(): Promise<void>;
}

export interface EditorHooks {
  snapshot: () => EditorSnapshot;
  flush: () => Promise<void>;
}

const idle: EditorHooks = {
  snapshot: () => {
    throw new Error('the editor is not mounted');
  },
  flush: async () => undefined,
};

export function createTestApi(client: EngineClient, editor: EditorHooks = idle): TestApi {
  return {
    async backend(choice) {
      return client.init(choice);
    },
    async runGraph(model, feeds, backend) {
      const transfer = [model, ...Object.values(feeds).map((t) => t.buffer)];
      const r = await client.request({ type: 'runGraph', model, feeds, backend }, transfer);
      if (r.type === 'error') throw new Error(r.message);
      if (r.type !== 'graphResult') throw new Error(`unexpected reply ${r.type}`);
      return { outputs: r.outputs, ms: r.ms };
    },
    async placement(model, backend) {
      // A fresh worker that logs verbosely from the start, so nothing else shares its log.
      const diagnostics = new EngineClient('engine-diagnostics');
      try {
        const r = await diagnostics.request({ type: 'placement', model, backend }, [model]);
        if (r.type === 'error') throw new Error(r.message);
        if (r.type !== 'placement') throw new Error(`unexpected reply ${r.type}`);
        return { cpuNodes: r.cpuNodes, log: r.log };
      } finally {
        diagnostics.dispose();
      }
    },
    async snapshot() {
      return editor.snapshot();
    },
    flush() {
      return editor.flush();
    },
  };
}

declare global {
  interface Window {
    __editmgt?: TestApi;
  }
}
