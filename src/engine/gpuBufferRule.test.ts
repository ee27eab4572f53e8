/**
 * One GPU-buffer rule for every web host, applied by the opener before any download: a package
 * runs when its least WebGPU dtype fits the adapter (webGpuBufferNeed), and the dtype choice
 * skips the dtypes over the limit. A package whose dtypes need different buffers opens on a GPU
 * that holds the smallest, though `config.max_buffer_bytes` (the largest over the dtypes) does not
 * fit it. The graphs run on onnxruntime-node here; the device only steers the choice.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Editor } from './editor';
import { validateManifest } from './manifest';
import type { Manifest } from './manifest';
import { GpuLimitError, webGpuBufferNeed } from './package';
import type { FileSource, GpuBufferLimits } from './package';
import { folderSource, nodeRuntime } from './runtime/node/modelPackage';

const TINY = 'public/models/tiny-random';
const HUGE = 2 ** 40;

let dir = '';
let manifest: Manifest;
/** fp32 needs what it needs; every other WebGPU dtype (and so config.max_buffer_bytes) needs 1 TiB. */
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'editmgt-gpu-rule-'));
  cpSync(TINY, dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    config: { max_buffer_bytes: number };
    dtypes: Record<string, { max_buffer_bytes: number; providers: string[] }>;
  };
  for (const [d, e] of Object.entries(m.dtypes)) if (d !== 'fp32') e.max_buffer_bytes = HUGE;
  m.config.max_buffer_bytes = HUGE;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  manifest = validateManifest(m);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fp32Need = () => manifest.dtypes.fp32!.max_buffer_bytes!;
const limits = (n: number): GpuBufferLimits => ({ maxBufferSize: n, maxStorageBufferBindingSize: n });

/** The folder source, recording the files asked for. */
function watched(): { source: FileSource<string>; prepared: string[] } {
  const folder = folderSource(dir);
  const prepared: string[] = [];
  return {
    prepared,
    source: {
      ...folder,
      prepare: (files, signal, onProgress) => {
        prepared.push(...files.map((f) => f.path));
        return folder.prepare(files, signal, onProgress);
      },
    },
  };
}

const open = (source: FileSource<string>, gpuLimits: GpuBufferLimits, shaderF16 = true) =>
  Editor.open(source, {
    device: 'webgpu',
    shaderF16,
    gpuLimits,
    runtime: nodeRuntime,
    makeEncoder: (json, config) => new HfTokenizer(json, config),
  });

describe('the GPU-buffer rule, before any download', () => {
  it('is the least any WebGPU dtype needs, not config.max_buffer_bytes', () => {
    expect(webGpuBufferNeed(manifest)).toBe(fp32Need());
    expect(manifest.config.max_buffer_bytes).toBe(HUGE);
    // a WebGPU dtype without its own figure: the package's figure stands
    const unknown = structuredClone(manifest) as { dtypes: Record<string, { max_buffer_bytes?: number }> };
    delete unknown.dtypes['q4']!.max_buffer_bytes;
    expect(webGpuBufferNeed(validateManifest(unknown))).toBe(HUGE);
  });

  it('opens the package on a GPU that holds only the smallest dtype, with that dtype', async () => {
    for (const shaderF16 of [true, false]) {
      const { source } = watched();
      const editor = await open(source, limits(fp32Need()), shaderF16);
      expect(editor.dtype).toBe('fp32');
      await editor.dispose();
    }
  }, 60_000);

  it('refuses a GPU below the least need before any file is asked for, naming the limits', async () => {
    const { source, prepared } = watched();
    const err = await open(source, limits(fp32Need() - 1)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GpuLimitError);
    expect((err as Error).message).toMatch(/this model needs GPU buffers of .*maxBufferSize/);
    expect(prepared).toEqual([]);
  });
});
