import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EditError } from '../../errors';
import { EditMGT } from './index';

const TINY = fileURLToPath(new URL('../../../../public/models/tiny-random', import.meta.url));

function picture(width: number, height: number) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([(i * 7) % 256, (i * 3) % 256, 90, 255], i * 4);
  return { width, height, data };
}

describe('EditMGT on onnxruntime-node', () => {
  let editor: EditMGT;
  beforeAll(async () => {
    editor = await EditMGT.fromPretrained(TINY, { dtype: 'fp32' });
  });
  afterAll(() => editor.dispose());

  it('edits with the package defaults where options are left out, and returns the input size', async () => {
    let steps = 0;
    const image = picture(50, 30);
    const result = await editor.edit(image, 'make it red', {
      seed: 2,
      guidance: undefined,
      onStep: () => steps++,
    });
    expect(steps).toBe(editor.manifest.defaults.steps);
    expect([result.image.width, result.image.height, result.image.data.length]).toEqual([
      50,
      30,
      50 * 30 * 4,
    ]);
    const spelled = await editor.engine.edit({ ...editor.defaults, image, prompt: 'make it red', seed: 2 });
    expect(Array.from(result.tokens)).toEqual(Array.from(spelled.tokens));
  });

  it('takes the options it is given over the defaults', async () => {
    let steps = 0;
    await editor.edit(picture(16, 16), 'make it red', { steps: 3, onStep: () => steps++ });
    expect(steps).toBe(3);
  });

  it('refuses a device node does not have, and bad settings, by name', async () => {
    await expect(EditMGT.fromPretrained(TINY, { device: 'webgpu' as never })).rejects.toThrow(
      /device is 'cpu'/,
    );
    const err = await editor.edit(picture(8, 8), 'x', { steps: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EditError);
    expect((err as EditError).code).toBe('bad-settings');
  });

  /** What an edit with these arguments is refused with: [code, message], or 'ok'. */
  const refusal = (image: unknown, instruction: unknown, options?: unknown) =>
    editor.edit(image as never, instruction as never, options as never).then(
      () => 'ok',
      (e: unknown) => (e instanceof EditError ? [e.code, e.message] : [String((e as Error).name), String(e)]),
    );

  it('refuses an instruction of only invisible characters, as the app and the CLI do', async () => {
    for (const invisible of [
      '\u200b\u200b\u200b',
      '\u200c\u200d\u2060\ufeff',
      ' \u200e\u00ad\u034f\ufe0f\n',
    ]) {
      expect(await refusal(picture(8, 8), invisible, { steps: 1 })).toEqual([
        'empty-instruction',
        'the instruction has only invisible characters (zero-width spaces, joiners or marks)',
      ]);
    }
    expect(await refusal(picture(8, 8), '   ', { steps: 1 })).toEqual([
      'empty-instruction',
      'the instruction is empty',
    ]);
    expect(await refusal(picture(8, 8), 42, { steps: 1 })).toEqual([
      'empty-instruction',
      'the instruction must be text, got a number',
    ]);
    expect(await refusal(picture(8, 8), '\u200bred\u200b', { steps: 1 })).toBe('ok');
  });

  it('refuses pixel data that is not RGBA bytes of the image size, with bad-image', async () => {
    const cases: [unknown, string][] = [
      [
        { width: 2, height: 2, data: 'x'.repeat(16) },
        "the image's data must be a Uint8Array or Uint8ClampedArray of RGBA bytes, got a string",
      ],
      [
        { width: 2, height: 2, data: new Float32Array(16) },
        "the image's data must be a Uint8Array or Uint8ClampedArray of RGBA bytes, got a Float32Array",
      ],
      [
        { width: 2, height: 2, data: new Array(16).fill(0) },
        "the image's data must be a Uint8Array or Uint8ClampedArray of RGBA bytes, got an Array",
      ],
      [
        { width: NaN, height: 2, data: new Uint8Array(16) },
        "the image's width and height must be whole numbers of at least 1, got NaN×2",
      ],
      [
        { width: '2', height: 2, data: new Uint8Array(16) },
        'the image\'s width and height must be whole numbers of at least 1, got "2"×2',
      ],
      [{ width: 2, height: 2, data: new Uint8Array(15) }, "the image's data has 15 bytes; 2×2 RGBA needs 16"],
      [null, 'the image must be an object with width, height and data (RGBA bytes), got null'],
    ];
    for (const [image, message] of cases)
      expect(await refusal(image, 'make it red')).toEqual(['bad-image', message]);
  });

  it('refuses a mask of another size than the image with the CLI’s message, not stretching it', async () => {
    const mask = picture(4, 4);
    mask.data.fill(255);
    expect(await refusal(picture(8, 8), 'make it red', { steps: 1, mask })).toEqual([
      'bad-settings',
      "the mask is 4×4 but the image is 8×8; the mask must be the image's size",
    ]);
    expect(await refusal(picture(8, 8), 'make it red', { steps: 1, mask: 'all' })).toEqual([
      'bad-settings',
      "the mask must be an RGBA image of the image's size or a Uint8Array of 16×16 cells, got a string",
    ]);
    expect(
      await refusal(picture(8, 8), 'x', {
        steps: 1,
        mask: { width: 8, height: 8, data: new Float32Array(256) },
      }),
    ).toEqual([
      'bad-settings',
      "the mask's data must be a Uint8Array or Uint8ClampedArray of RGBA bytes, got a Float32Array",
    ]);
    expect(await refusal(picture(8, 8), 'x', { steps: 1, mask: new Uint8Array(3) })).toEqual([
      'bad-settings',
      "the mask grid has 3 cells; this model's token grid is 16×16 = 256",
    ]);
  });

  it('answers bad options with bad-settings and a message, never a raw TypeError', async () => {
    const img = picture(8, 8);
    const cases: [unknown, string][] = [
      [null, 'the edit options must be an object, got null'],
      ['fast', 'the edit options must be an object, got a string'],
      [{ queryWords: 5 }, 'the query words must be text, got a number'],
      [{ onStep: 'log' }, 'onStep must be a function, got a string'],
      [{ signal: 'stop' }, 'signal must be an AbortSignal, got a string'],
      [{ steps: '3' }, 'steps must be an integer from 1 to 100, got "3"'],
    ];
    for (const [options, message] of cases)
      expect(await refusal(img, 'make it red', options)).toEqual(['bad-settings', message]);
  });

  it('refuses an empty package source instead of opening the current folder', async () => {
    for (const source of ['', '  ']) {
      const err = await EditMGT.fromPretrained(source).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EditError);
      expect([(err as EditError).code, (err as EditError).message]).toEqual([
        'bad-settings',
        `fromPretrained needs a model package: a folder that holds manifest.json, a file: URL or an http(s) URL; got ${JSON.stringify(source)}`,
      ]);
    }
    await expect(EditMGT.fromPretrained(TINY, { cacheDir: '' })).rejects.toThrow(
      'cacheDir must name a folder, got ""',
    );
  });

  it('stops on its signal', async () => {
    const ctrl = new AbortController();
    const edit = editor.edit(picture(8, 8), 'make it red', {
      steps: 8,
      signal: ctrl.signal,
      onStep: (e) => e.step === 1 && ctrl.abort(),
    });
    await expect(edit).rejects.toThrow();
  });

  it('cannot edit once disposed', async () => {
    const other = await EditMGT.fromPretrained(TINY, { dtype: 'fp32' });
    await other.dispose();
    await expect(other.edit(picture(8, 8), 'make it red')).rejects.toThrow(/disposed/);
  });
});
