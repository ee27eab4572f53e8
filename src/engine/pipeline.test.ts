import { describe, expect, it } from 'vitest';
import { describeRange, EDIT_SETTINGS } from './editSettings';
import { EditError, tooLargeMessage } from './errors';
import type { RgbaImage } from './image';
import { EditEngine } from './pipeline';
import type { EditRequest, StepEvent } from './pipeline';
import { FAKE_SPEC, FakeRunner, fakeTokenizer } from './testing/fakeModel';

function gradient(w: number, h: number): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      data.set([(x * 255) / (w - 1), (y * 255) / (h - 1), 40, 255], (y * w + x) * 4);
  return { width: w, height: h, data };
}

function engine(runner = new FakeRunner()) {
  return {
    runner,
    engine: new EditEngine({
      runner,
      tokenizers: { clip: fakeTokenizer, llm: fakeTokenizer },
      spec: FAKE_SPEC,
    }),
  };
}

describe('EditEngine', () => {
  it('runs N steps, fills every cell, and returns model-size and original-size images', async () => {
    const { engine: e } = engine();
    const events: StepEvent[] = [];
    const r = await e.edit(
      { image: gradient(40, 24), prompt: 'make it red', steps: 5, seed: 1 },
      { onStep: (ev) => events.push(ev) },
    );
    expect(events.map((ev) => ev.step)).toEqual([0, 1, 2, 3, 4]);
    expect(r.tokens.every((t) => t !== FAKE_SPEC.maskTokenId)).toBe(true);
    // every cell is drawn exactly once for good (drawn = unknown before, known after)
    const drawnTotal = events.reduce((a, ev) => a + ev.drawn.length, 0);
    expect(drawnTotal).toBe(16);
    expect(events[0]!.remasked.length).toBeGreaterThan(0);
    expect(events[4]!.remasked.length).toBe(0);
    expect(events[0]!.attention.length).toBe(16);
    expect(events[0]!.preview?.width).toBe(4);
    expect(events[0]!.readbackBytes).toBe(3 * 16 * 4 + 4 * 4);
    expect([r.modelImage.width, r.modelImage.height]).toEqual([16, 16]);
    expect([r.image.width, r.image.height]).toEqual([40, 24]);
  });

  it('encodes each prompt once and the source once per image', async () => {
    const { engine: e, runner } = engine();
    const img = gradient(16, 16);
    await e.edit({ image: img, prompt: 'a b', steps: 2 });
    await e.edit({ image: img, prompt: 'a b', steps: 2 });
    await e.edit({ image: img, prompt: 'c', steps: 2 });
    const count = (g: string) => runner.calls.filter((c) => c === g).length;
    expect(count('text_clip')).toBe(3); // 'a b', the negative prompt, 'c'
    expect(count('vq_encode')).toBe(1);
    expect(count('transformer_step')).toBe(6);
  });

  it('same seed → same edit; another seed → another edit', async () => {
    const img = gradient(16, 16);
    const a = await engine().engine.edit({ image: img, prompt: 'x', steps: 4, seed: 7 });
    const b = await engine().engine.edit({ image: img, prompt: 'x', steps: 4, seed: 7 });
    const c = await engine().engine.edit({ image: img, prompt: 'x', steps: 4, seed: 8 });
    expect(Array.from(a.tokens)).toEqual(Array.from(b.tokens));
    expect(Array.from(a.tokens)).not.toEqual(Array.from(c.tokens));
  });

  it('inpainting keeps the source tokens outside the mask', async () => {
    const { engine: e } = engine();
    const img = gradient(16, 16);
    const mask = new Uint8Array(16);
    mask[5] = mask[6] = 1;
    const r = await e.edit({ image: img, prompt: 'x', steps: 3, mask });
    for (let i = 0; i < 16; i++) if (!mask[i]) expect(r.tokens[i]).toBe(r.sourceTokens[i]);
    await expect(e.edit({ image: img, prompt: 'x', mask: new Uint8Array(16) })).rejects.toThrow(
      /selects nothing/,
    );
  });

  it('region-hold with a high λ keeps source tokens where attention is low', async () => {
    const { engine: e } = engine();
    const events: StepEvent[] = [];
    const r = await e.edit(
      { image: gradient(16, 16), prompt: 'x', steps: 3, hold: 0.5 },
      { onStep: (ev) => events.push(ev) },
    );
    expect(events[0]!.hold.some((v) => v === 1)).toBe(true);
    // the top-left quadrant has the lowest attention (0.1 → 0 after rescale): held to the source
    expect(r.tokens[0]).toBe(r.sourceTokens[0]);
  });

  it('composite keeps the original pixels where tokens are unchanged', async () => {
    const { engine: e } = engine();
    const img = gradient(32, 32);
    const mask = new Uint8Array(16);
    mask[0] = 1;
    const r = await e.edit({ image: img, prompt: 'x', steps: 2, mask });
    const off = await e.edit({ image: img, prompt: 'x', steps: 2, mask, composite: false });
    const p = (im: RgbaImage, x: number, y: number) =>
      Array.from(im.data.slice((y * 32 + x) * 4, (y * 32 + x) * 4 + 4));
    expect(p(r.image, 30, 30)).toEqual(p(img, 30, 30));
    expect(p(off.image, 30, 30)).not.toEqual(p(img, 30, 30));
  });

  it('rejects bad input with a coded one-line error', async () => {
    const { engine: e } = engine();
    const img = gradient(8, 8);
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (err: unknown) => (err instanceof EditError ? err.code : String(err)),
      );
    expect(await code(e.edit({ image: img, prompt: '   ' }))).toBe('empty-instruction');
    expect(
      await code(e.edit({ image: { width: 10_000, height: 6_000, data: new Uint8Array(0) }, prompt: 'x' })),
    ).toBe('image-too-large');
    expect(await code(e.edit({ image: { width: 4, height: 4, data: new Uint8Array(3) }, prompt: 'x' }))).toBe(
      'bad-image',
    );
    expect(await code(e.edit({ image: img, prompt: 'x', steps: 0 }))).toBe('bad-settings');
  });

  it('checks every option against the settings table, with its message', async () => {
    const { engine: e } = engine();
    const img = gradient(8, 8);
    const message = (req: Partial<EditRequest>) =>
      e.edit({ image: img, prompt: 'x', ...req }).then(
        () => 'ok',
        (err: Error) => err.message,
      );
    // Each value here is one the settings panel cannot produce: the engine must refuse it too.
    expect(await message({ steps: 101 })).toBe(
      `steps must be ${describeRange(EDIT_SETTINGS.steps)}, got 101`,
    );
    expect(await message({ guidance: 21 })).toMatch(/^guidance must be a number from 0 to 20/);
    expect(await message({ referenceStrength: 50 })).toMatch(
      /^reference strength must be a number from 0.1 to 10/,
    );
    expect(await message({ seed: 2 ** 31 })).toMatch(/^seed must be an integer from 0 to 2147483647/);
    expect(await message({ negativePrompt: 3 as unknown as string })).toBe('negative prompt must be text');
    expect(await message({ image: { width: 10_000, height: 6_000, data: new Uint8Array(0) } })).toBe(
      tooLargeMessage(10_000, 6_000),
    );
  });

  it('warns when the instruction is truncated', async () => {
    const { engine: e } = engine();
    const r = await e.edit({ image: gradient(8, 8), prompt: 'a b c d e f g h i j k', steps: 1 });
    expect(r.warnings.join(' ')).toMatch(/cut to/);
  });

  it('stops within one step when aborted, and the next edit works', async () => {
    const { engine: e, runner } = engine();
    const ctrl = new AbortController();
    runner.beforeStep = (n) => {
      if (n === 2) ctrl.abort();
    };
    await expect(
      e.edit({ image: gradient(8, 8), prompt: 'x', steps: 8 }, { signal: ctrl.signal }),
    ).rejects.toThrow();
    expect(runner.calls.filter((c) => c === 'transformer_step').length).toBe(3);
    runner.beforeStep = undefined;
    const r = await e.edit({ image: gradient(8, 8), prompt: 'x', steps: 2 });
    expect(r.tokens.length).toBe(16);
  });

  it('query words restrict the text weights fed to the graph', async () => {
    const runner = new FakeRunner();
    const seen: Float32Array[] = [];
    const orig = runner.run.bind(runner);
    runner.run = async (g, feeds, s) => {
      if (g === 'transformer_step') seen.push((feeds['text_weights']!.data as Float32Array).slice());
      return orig(g, feeds, s);
    };
    const e = new EditEngine({
      runner,
      tokenizers: { clip: fakeTokenizer, llm: fakeTokenizer },
      spec: FAKE_SPEC,
    });
    await e.edit({ image: gradient(8, 8), prompt: 'add red hat', steps: 1, queryWords: 'hat' });
    expect(Array.from(seen[0]!)).toEqual([0, 0, 0, 1, 0, 0, 0, 0]);
    const r = await e.edit({ image: gradient(8, 8), prompt: 'add red hat', steps: 1, queryWords: 'zebra' });
    expect(r.warnings.join(' ')).toMatch(/not in the instruction/);
  });
});
