/**
 * Freeing the text encoders between prompts (the policy for packages too big to hold every graph):
 * the edit is unchanged, the encoders are not held during sampling, and a new prompt loads them again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbaImage } from '../src/engine/image';
import { EditEngine } from '../src/engine/pipeline';
import type { EditRequest } from '../src/engine/pipeline';
import { openPackage } from '../src/engine/runtime/node/modelPackage';
import type { OpenPackage } from '../src/engine/runtime/node/modelPackage';
import { TINY } from './testModel';

function photo(w: number, h: number): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      data.set([(x * 7) % 256, (y * 5) % 256, ((x + y) * 3) % 256, 255], (y * w + x) * 4);
  return { width: w, height: h, data };
}

describe('releaseTextEncoders', () => {
  let plain: OpenPackage;
  let tight: OpenPackage;
  const req: EditRequest = {
    image: photo(40, 32),
    prompt: 'make the square red',
    steps: 4,
    seed: 11,
    hold: 0.1,
  };
  beforeAll(async () => {
    [plain, tight] = await Promise.all([openPackage(TINY, 'fp32'), openPackage(TINY, 'fp32')]);
  });
  afterAll(async () => {
    await plain?.runner.release();
    await tight?.runner.release();
  });

  it('gives the same edit, holds no text encoder while sampling, and reloads them for a new prompt', async () => {
    const reference = await new EditEngine({
      runner: plain.runner,
      tokenizers: plain.tokenizers,
      spec: plain.spec,
    }).edit(req);
    const engine = new EditEngine({
      runner: tight.runner,
      tokenizers: tight.tokenizers,
      spec: tight.spec,
      releaseTextEncoders: true,
    });
    const heldWhileSampling: boolean[] = [];
    const onStep = () =>
      heldWhileSampling.push(tight.runner.isOpen('text_llm') || tight.runner.isOpen('text_clip'));
    const first = await engine.edit(req, { onStep });
    expect([...first.tokens]).toEqual([...reference.tokens]);
    expect(heldWhileSampling).toEqual([false, false, false, false]);
    // The same prompt again: encodings come from the cache, nothing is reopened.
    await engine.edit(req);
    expect(tight.runner.opened.filter((g) => g === 'text_llm')).toHaveLength(1);
    // A new prompt: the encoders load again, and are freed again.
    await engine.edit({ ...req, prompt: 'remove the circle' });
    expect(tight.runner.opened.filter((g) => g === 'text_llm')).toHaveLength(2);
    expect(tight.runner.isOpen('text_llm')).toBe(false);
    expect(tight.runner.isOpen('transformer_step')).toBe(true);
  }, 120_000);
});
