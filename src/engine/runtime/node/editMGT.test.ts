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
