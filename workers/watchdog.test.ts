import { describe, expect, it } from 'vitest';
import { describeWork, stallBoundMs } from './watchdog';

const GIB = 2 ** 30;

describe('watchdog bounds', () => {
  it('is a floor plus seconds per GiB of the graph, per phase and backend', () => {
    expect(stallBoundMs({ phase: 'session', bytes: 0, backend: 'wasm' })).toBe(60_000);
    expect(stallBoundMs({ phase: 'session', bytes: GIB, backend: 'webgpu' })).toBe(240_000);
    expect(stallBoundMs({ phase: 'run', bytes: GIB / 2, backend: 'wasm' })).toBe(660_000);
    expect(stallBoundMs({ phase: 'run', bytes: 0, backend: 'webgpu' })).toBe(300_000);
  });

  it('names the graph and what it was doing', () => {
    expect(describeWork({ graph: 'text_llm', phase: 'session', bytes: 1_218_000_000 })).toBe(
      'creating the session of text_llm (1,218 MB)',
    );
    expect(describeWork({ graph: 'transformer_step', phase: 'run', bytes: 1 })).toBe(
      'running transformer_step',
    );
  });
});
