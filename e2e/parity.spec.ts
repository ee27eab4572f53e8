/**
 * The same edit (same seed, same package, same dtype) in Chromium and on onnxruntime-node gives
 * the same tokens at every step: exactly for fp32; for q4 the share of equal final tokens is
 * bounded below (quantised kernels differ between providers, and one different draw changes the
 * rest of the trajectory).
 */
import { join } from 'node:path';
import { fallbackEditOptions } from '../src/engine/index';
import type { RgbaImage } from '../src/engine/index';
import { cpuOptions, Editor, packageSource } from '../src/engine/runtime/node/index';
import type { EditSettings } from '../src/protocol/messages';
import { test, expect } from './fixtures';

const pkgDir = join('public', 'models', 'tiny-random');
const instruction = 'make the circle blue';
// Every other option at the table's fallback, the same on both sides.
const settings: EditSettings = {
  ...fallbackEditOptions(),
  steps: 8,
  guidance: 6,
  referenceStrength: 1.1,
  hold: 0.01,
  seed: 1234,
  negativePrompt: 'blurry',
  composite: true,
};

/** A deterministic 80×60 test picture (not the model's size, so resizing is exercised). */
function picture(): RgbaImage {
  const width = 80;
  const height = 60;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const inCircle = (x - 30) ** 2 + (y - 28) ** 2 < 15 ** 2;
      data[i] = inCircle ? 220 : (x * 3) % 256;
      data[i + 1] = inCircle ? 40 : (y * 4) % 256;
      data[i + 2] = inCircle ? 30 : 128;
      data[i + 3] = 255;
    }
  }
  return { width, height, data };
}

async function nodeEdit(dtype: string) {
  const pkg = await Editor.open(packageSource(pkgDir), cpuOptions(dtype));
  const steps: number[][] = [];
  const result = await pkg.engine.edit(
    { ...settings, image: picture(), prompt: instruction },
    { onStep: (e) => steps.push([...e.tokens]) },
  );
  await pkg.dispose();
  return { steps, image: result.image };
}

async function browserEdit(
  page: import('@playwright/test').Page,
  backend: 'webgpu' | 'wasm',
  dtype: string,
  variant: Variant = {},
) {
  const img = picture();
  return page.evaluate(
    ({ backend, dtype, image, instruction, settings, variant }) =>
      window.__editmgt!.editDirect({
        baseUrl: '/models/tiny-random/',
        backend,
        dtype: dtype as 'fp32',
        image: { width: image.width, height: image.height, buffer: new Uint8ClampedArray(image.data).buffer },
        instruction,
        settings,
        ...variant,
      }),
    {
      backend,
      dtype,
      variant,
      image: { width: img.width, height: img.height, data: [...img.data] },
      instruction,
      settings,
    },
  );
}

/** How the worker runs: its onnxruntime-web build and memory policy, when not the defaults. */
interface Variant {
  build?: 'jsep' | 'jspi';
  memory?: 'phased';
}

function agreement(a: number[], b: number[]): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

const VARIANTS: { name: string; variant: Variant; tag?: string }[] = [
  { name: 'default build', variant: {} },
  { name: 'JSEP build', variant: { build: 'jsep' } },
  // one phase's sessions at a time, each reopened from the model store's Files
  { name: 'phased memory policy', variant: { memory: 'phased' } },
  // WASM on the JSPI build with its thread pool (the worker's runtime option `wasmBuild: 'jspi'`)
  { name: 'JSPI build for WASM', variant: { build: 'jspi' }, tag: ' @wasm' },
];

for (const { name, variant, tag = '' } of VARIANTS)
  test(`fp32 edit, ${name}: identical tokens at every step and the same pixels as node${tag}`, async ({
    editor,
    page,
    backendChoice,
  }) => {
    test.setTimeout(360_000);
    await editor.open();
    const [web, node] = await Promise.all([
      browserEdit(page, backendChoice, 'fp32', variant),
      nodeEdit('fp32'),
    ]);
    expect(web.backend.backend).toBe(backendChoice);
    // This Chromium has JSPI: on WebGPU the worker takes the JSPI build unless asked for JSEP;
    // WASM runs on the JSEP build unless asked for JSPI, with its thread pool on either.
    const jspi = backendChoice === 'webgpu' ? variant.build !== 'jsep' : variant.build === 'jspi';
    expect(web.backend.build).toBe(jspi ? 'jspi' : 'jsep');
    if (backendChoice === 'wasm') expect(web.backend.threads).toBeGreaterThan(1);
    expect(web.memory).toBe(variant.memory ?? 'all');
    expect(web.steps).toHaveLength(settings.steps);
    for (let i = 0; i < settings.steps; i++) expect(web.steps[i], `step ${i}`).toEqual(node.steps[i]);
    expect([web.image.width, web.image.height]).toEqual([80, 60]);
    let maxDiff = 0;
    for (let i = 0; i < web.image.data.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(web.image.data[i]! - node.image.data[i]!));
    expect(maxDiff).toBeLessThanOrEqual(1);
  });

test('q4 edit agrees with node within the stated bound', async ({ editor, page, backendChoice }) => {
  test.setTimeout(360_000);
  await editor.open();
  const [web, node] = await Promise.all([browserEdit(page, backendChoice, 'q4'), nodeEdit('q4')]);
  const first = agreement(web.steps[0]!, node.steps[0]!);
  const final = agreement(web.steps.at(-1)!, node.steps.at(-1)!);
  test.info().annotations.push({
    type: 'agreement',
    description: `first step ${first.toFixed(3)}, final ${final.toFixed(3)}`,
  });
  // Measured on the tiny package: 1.000 and 1.000 on both providers (SwiftShader and WASM).
  expect(first).toBeGreaterThanOrEqual(0.99);
  expect(final).toBeGreaterThanOrEqual(0.9);
});
