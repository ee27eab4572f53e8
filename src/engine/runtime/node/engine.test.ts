/** The engine on the real tiny graphs (onnxruntime-node): cancel, determinism, memory over 20 edits. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../image';
import { EditEngine } from '../../pipeline';
import type { GraphName } from '../../ports';
import { cpuOptions, packageSource } from './modelPackage';
import { Editor } from '../../editor';
import type { OrtNodeRunner } from './ortNodeRunner';
import { hasTiny, TINY } from './testing/testModel';

function photo(w: number, h: number): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      data.set([(x * 7) % 256, (y * 5) % 256, ((x + y) * 3) % 256, 255], (y * w + x) * 4);
  return { width: w, height: h, data };
}

function forceGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe.skipIf(!hasTiny)('engine on onnxruntime-node', () => {
  let pkg: Editor<OrtNodeRunner>;
  let calls: GraphName[];
  let engine: EditEngine;
  beforeAll(async () => {
    pkg = await Editor.open(packageSource(TINY), cpuOptions());
    calls = [];
    const runner = pkg.runner;
    engine = new EditEngine({
      runner: { run: (g, f, s) => (calls.push(g), runner.run(g, f, s)) },
      tokenizers: pkg.tokenizers,
      spec: pkg.spec,
    });
  });
  afterAll(async () => pkg?.runner.release());

  it('cancel at any step stops within one step, and the next edit works and is unaffected', async () => {
    const image = photo(70, 50);
    const full = await engine.edit({ image, prompt: 'make it blue', steps: 6, seed: 5 });
    for (const at of [0, 2, 5]) {
      const ctrl = new AbortController();
      calls.length = 0;
      await expect(
        engine.edit(
          { image, prompt: 'make it blue', steps: 6, seed: 5 },
          { onStep: (e) => e.step === at && ctrl.abort(), signal: ctrl.signal },
        ),
      ).rejects.toThrow();
      expect(calls.filter((c) => c === 'transformer_step').length).toBe(at + 1);
      expect(calls).not.toContain('vq_decode');
    }
    const again = await engine.edit({ image, prompt: 'make it blue', steps: 6, seed: 5 });
    expect(Array.from(again.tokens)).toEqual(Array.from(full.tokens));
    expect(Buffer.from(again.image.data).equals(Buffer.from(full.image.data))).toBe(true);
  }, 180_000);

  it('guidance ≤ 1 runs without CFG: the negative prompt is never encoded, the step sees the instruction twice', async () => {
    for (const [guidance, textRuns] of [
      [0.5, 1],
      [1, 1],
      [1.5, 2],
    ] as const) {
      const feeds: Record<string, ArrayLike<number>>[] = [];
      const fresh = new EditEngine({
        runner: {
          run: (g, f, s) => (
            g === 'text_llm' || g === 'transformer_step'
              ? feeds.push({
                  graph: [g === 'text_llm' ? 0 : 1],
                  states: f['text_states']?.data as Float32Array,
                })
              : 0,
            pkg.runner.run(g, f, s)
          ),
        },
        tokenizers: pkg.tokenizers,
        spec: pkg.spec,
      });
      await fresh.edit({
        image: photo(32, 32),
        prompt: 'make it green',
        negativePrompt: 'blurry',
        guidance,
        steps: 2,
        seed: 1,
      });
      expect(feeds.filter((f) => f['graph']![0] === 0).length, `guidance ${guidance}`).toBe(textRuns);
      const states = feeds.find((f) => f['graph']![0] === 1)!['states'] as Float32Array;
      const half = states.length / 2;
      const same = states.subarray(0, half).every((v, i) => v === states[half + i]);
      expect(same, `guidance ${guidance}: both text rows are the instruction`).toBe(guidance <= 1);
    }
  }, 180_000);

  it('20 edits in a row do not grow memory', async () => {
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      // a new image object and prompt each time: caches must stay bounded
      await engine.edit({ image: photo(64 + i, 48), prompt: `edit number ${i % 10}`, steps: 2, seed: i });
      forceGc();
      const m = process.memoryUsage();
      sizes.push(m.heapUsed + m.arrayBuffers);
    }
    const growth = (sizes[19]! - sizes[4]!) / 1e6;
    process.stdout.write(
      `20 edits: heap+arrayBuffers ${(sizes[4]! / 1e6).toFixed(1)} MB after edit 5, ${(sizes[19]! / 1e6).toFixed(1)} MB after edit 20\n`,
    );
    expect(engine.cachedPrompts).toBeLessThanOrEqual(8);
    expect(growth).toBeLessThan(8); // MB, after warm-up
  }, 180_000);
});
