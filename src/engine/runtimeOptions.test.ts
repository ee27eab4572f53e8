import { describe, expect, it } from 'vitest';
import { buildOption, runtimeOptions } from './runtimeOptions';

describe('runtimeOptions', () => {
  it('takes each known option with a value of its type, and none', () => {
    const all = {
      webgpuBuild: 'jsep',
      wasmBuild: 'jspi',
      graphCapture: true,
      freeDimensionOverrides: false,
      memory: 'phased',
      diagnostics: true,
    };
    expect(runtimeOptions(all)).toEqual(all);
    expect(runtimeOptions(undefined)).toEqual({});
    expect(runtimeOptions({})).toEqual({});
  });

  it('refuses an unknown option, naming it and the known ones', () => {
    expect(() => runtimeOptions({ graphCapure: true })).toThrow(
      /unknown runtime option "graphCapure" \(known: webgpuBuild, wasmBuild, graphCapture/,
    );
  });

  it('refuses a value of the wrong type or outside the allowed ones, naming the option', () => {
    expect(() => runtimeOptions({ graphCapture: 1 })).toThrow(
      'runtime option "graphCapture" is 1; it must be true or false',
    );
    expect(() => runtimeOptions({ memory: 'none' })).toThrow(
      'runtime option "memory" is "none"; it must be "all" or "release-text" or "phased"',
    );
    expect(() => runtimeOptions({ webgpuBuild: true })).toThrow(/runtime option "webgpuBuild" is true/);
    expect(() => runtimeOptions('jspi=0')).toThrow('runtime options must be an object, not "jspi=0"');
    expect(() => runtimeOptions([])).toThrow('runtime options must be an object');
  });

  it('names the build option of each backend', () => {
    expect(buildOption('webgpu', 'jsep')).toEqual({ webgpuBuild: 'jsep' });
    expect(buildOption('wasm', 'jspi')).toEqual({ wasmBuild: 'jspi' });
  });
});
