/**
 * The GPU running out of memory for real, mid-edit: Chromium's GPU process starts with its memory
 * capped (scripts/gpu-memory-limit.sh; with SwiftShader the GPU's memory is that process's), and
 * while an edit runs, another page's WebGPU device takes memory until the GPU process ends, as a
 * GPU-heavy tab beside the editor can make it. The edit stops with a message that names the GPU,
 * the image stays, the engine comes back on WebGPU and the next edit works.
 */
import { CHROMIUM, CHROMIUM_ARGS, gpuMemoryLimit } from '../scripts/chromium';
import type { BrowserContext } from '@playwright/test';
import { readManifest } from '../src/engine/runtime/node/index';
import { test, expect } from './fixtures';

const LIMIT_BYTES = 3 * 2 ** 30;
const limit = gpuMemoryLimit(LIMIT_BYTES);
test.use({
  launchOptions: {
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, ...limit.args],
    env: { ...process.env, ...limit.env },
  },
});

/**
 * Another tab takes GPU memory, 256 MiB at a time, until the GPU process gives out; checks that
 * the cap took (the process ended within 6 GiB of buffers, twice the cap, past the editor's own).
 */
async function fillGpuMemory(
  context: BrowserContext,
  url: string,
): Promise<{ buffers: number; lost: string }> {
  const other = await context.newPage();
  await other.goto(url);
  const hog = await other.evaluate(async () => {
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    let lost = '';
    void device.lost.then((info) => (lost = `${info.reason}: ${info.message}`));
    const held: GPUBuffer[] = [];
    for (let i = 0; i < 24 && !lost; i++) {
      const b = device.createBuffer({
        size: 256 * 2 ** 20,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      device.queue.writeBuffer(b, 0, new Uint8Array(16));
      held.push(b);
      await device.queue.onSubmittedWorkDone().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
    return { buffers: held.length, lost };
  });
  await other.close();
  expect(hog.lost, `GPU process survived ${hog.buffers} buffers of 256 MiB`).not.toBe('');
  expect(hog.buffers).toBeGreaterThan(2);
  return hog;
}

test('the GPU out of memory mid-edit: reported, the image kept, the engine back on WebGPU, the next edit works @webgpu', async ({
  ui,
  context,
}) => {
  test.setTimeout(600_000);
  await ui.openReady();
  const before = await ui.editUnderWay();
  const hog = await fillGpuMemory(context, ui.page.url());
  const said = await ui.expectGpuLossRecovered(before);
  console.log(`GPU process ended after ${hog.buffers} buffers (${hog.lost}); the editor said: ${said}`);
});

test('the GPU out of memory while another model loads: reported, the model in use reopened and editing @webgpu', async ({
  ui,
  context,
  page,
}) => {
  test.setTimeout(600_000);
  await ui.openReady();
  const inUse = (await ui.snapshot()).model!.name;
  await ui.choose('photo.jpg');
  await expect.poll(async () => (await ui.snapshot()).image).not.toBeNull();
  const before = (await ui.snapshot()).image;
  // The shapes package's graphs are held back until the GPU has given out: the load is under way.
  const shapes = readManifest('public/models/shapes');
  let release = () => undefined as void;
  const held = new Promise<void>((r) => (release = r));
  await context.route('**/models/shapes/**', async (route) => {
    if (/\.onnx(\.data)?$/.test(new URL(route.request().url()).pathname)) await held;
    await route.continue();
  });
  await page.getByTestId('model-select').selectOption('__custom__');
  await page.getByTestId('model-url').fill('/models/shapes/');
  await page.getByTestId('load-model').click();
  await ui.expectState('loading-model');

  const hog = await fillGpuMemory(context, ui.page.url());
  release();
  await expect(ui.notice.or(ui.error)).toContainText(/GPU stopped responding/);
  console.log(
    `GPU process ended after ${hog.buffers} buffers; the editor said: ${await ui.notice.or(ui.error).first().textContent()}`,
  );
  await expect
    .poll(
      async () => ((s) => `${s.modelStatus}: ${s.model?.name} on ${s.model?.backend}`)(await ui.snapshot()),
      {
        timeout: 180_000,
      },
    )
    .toBe(`ready: ${inUse} on webgpu`);
  expect(shapes.name).not.toBe(inUse);
  expect((await ui.snapshot()).image).toEqual(before);
  await ui.setSteps(2);
  await ui.edit('make the sky purple');
  expect(await ui.waitForDone()).toBe(2);
});
