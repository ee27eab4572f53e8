/**
 * A small typed API on `window.__editmgt` for end-to-end tests and diagnostics.
 * It drives the same worker the UI uses.
 */
import type { Backend, BackendChoice, BackendInfo, WireTensor } from '../protocol/messages';
import type { EngineClient } from './engineClient';

export interface TestApi {
  backend(choice: BackendChoice): Promise<BackendInfo>;
  runGraph(
    model: ArrayBuffer,
    feeds: Record<string, WireTensor>,
    backend: Backend,
  ): Promise<{ outputs: Record<string, WireTensor>; ms: number }>;
}

export function createTestApi(client: EngineClient): TestApi {
  return {
    async backend(choice) {
      const r = await client.request({ type: 'init', backend: choice });
      if (r.type === 'error') throw new Error(r.message);
      if (r.type !== 'backend') throw new Error(`unexpected reply ${r.type}`);
      return r.info;
    },
    async runGraph(model, feeds, backend) {
      const transfer = [model, ...Object.values(feeds).map((t) => t.buffer)];
      const r = await client.request({ type: 'runGraph', model, feeds, backend }, transfer);
      if (r.type === 'error') throw new Error(r.message);
      if (r.type !== 'graphResult') throw new Error(`unexpected reply ${r.type}`);
      return { outputs: r.outputs, ms: r.ms };
    },
  };
}

declare global {
  interface Window {
    __editmgt?: TestApi;
  }
}
