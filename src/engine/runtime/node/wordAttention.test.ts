/** Per-word attention of a past step, on the real tiny graphs (onnxruntime-node). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../image';
import type { EditEngine, EditRequest, StepEvent } from '../../pipeline';
import { cpuOptions, packageSource } from './modelPackage';
import { Editor } from '../../editor';
import type { OrtNodeRunner } from './ortNodeRunner';
import { TINY } from './testing/testModel';

function photo(w: number, h: number): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      data.set([(x * 11) % 256, (y * 3) % 256, ((x * y) >> 2) % 256, 255], (y * w + x) * 4);
  return { width: w, height: h, data };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('wordAttention', () => {
  let pkg: Editor<OrtNodeRunner>;
  let engine: EditEngine;
  const image = photo(48, 40);
  const req: EditRequest = { image, prompt: 'make the small circle blue', steps: 6, seed: 5, hold: 0 };
  beforeAll(async () => {
    pkg = await Editor.open(packageSource(TINY), cpuOptions('fp32'));
    engine = pkg.engine;
  });
  afterAll(async () => pkg?.runner.release());

  /** The tokens each step started from. */
  function stepInputs(events: StepEvent[]): Int32Array[] {
    const start = new Int32Array(events[0]!.tokens.length).fill(pkg.spec.maskTokenId);
    return events.map((_, i) => (i === 0 ? start : events[i - 1]!.tokens));
  }

  it('equals the map of an edit run with those query words, at every step', async () => {
    // With region-hold off the attention does not steer the tokens, so both runs share a trajectory.
    const plain: StepEvent[] = [];
    await engine.edit(req, { onStep: (e) => plain.push(e) });
    const queried: StepEvent[] = [];
    await engine.edit({ ...req, queryWords: 'circle' }, { onStep: (e) => queried.push(e) });
    const inputs = stepInputs(plain);
    for (const step of [0, 3, 5]) {
      expect(queried[step]!.tokens).toEqual(plain[step]!.tokens);
      const map = await engine.wordAttention(req, inputs[step]!, step, 'circle');
      expect(map).not.toBeNull();
      expect(maxDiff(map!.tokens, queried[step]!.attention)).toBeLessThan(1e-6);
      // …and it is not simply the whole-instruction map.
      expect(maxDiff(map!.tokens, plain[step]!.attention)).toBeGreaterThan(1e-3);
    }
  });

  it('differs between words, and is null for a word not in the instruction', async () => {
    const events: StepEvent[] = [];
    await engine.edit(req, { onStep: (e) => events.push(e) });
    const input = stepInputs(events)[2]!;
    const circle = await engine.wordAttention(req, input, 2, 'circle');
    const blue = await engine.wordAttention(req, input, 2, 'blue');
    expect(maxDiff(circle!.tokens, blue!.tokens)).toBeGreaterThan(1e-3);
    expect(await engine.wordAttention(req, input, 2, 'zebra')).toBeNull();
    await expect(engine.wordAttention(req, input, 9, 'blue')).rejects.toThrow(/step must be/);
  });
});
