/**
 * The watchdog (workers/watchdog.ts): work the runtime never finishes becomes a message that says
 * what stalled and offers a retry, and the editor stays usable. The stalls are real: a test fault
 * in the worker's own code path (the `stall` diagnostics request) either blocks the worker's thread
 * at a graph's run, as a hung WASM call does, or gives a session external data that never arrives.
 * The page must then stop the worker and start a fresh one; the bound is the fault's (seconds), not
 * the one the graph's size gives (minutes).
 */
import { test, expect, type AppUi } from './fixtures';

const BOUND_MS = 4000;

const inUse = async (ui: AppUi) =>
  ((s) => `${s.modelStatus}: ${s.model?.name} on ${s.model?.backend}`)(await ui.snapshot());

/** The editor on WASM with tiny-random loaded and saved as the choice (the model a stalled worker takes with it). */
async function openTiny(ui: AppUi): Promise<void> {
  await ui.openReady();
  await ui.page.getByTestId('model-select').selectOption('tiny-random');
  await ui.page.getByTestId('load-model').click();
  await expect.poll(() => inUse(ui), { timeout: 90_000 }).toBe('ready: tiny-random on wasm');
}

test('a step that never finishes becomes a message naming the graph; the image, history and model stay, and Run works again @wasm', async ({
  ui,
}) => {
  test.setTimeout(240_000);
  await openTiny(ui);
  await ui.choose('photo.jpg');
  await ui.expectImage(640, 427);
  await ui.setSteps(ui.editSteps);
  await ui.edit('make the sky purple');
  await ui.waitForDone();
  const before = await ui.snapshot();

  await ui.call('armStall', 'transformer_step', 'run', BOUND_MS);
  await ui.runButton.click();
  await expect(ui.error).toContainText(/no progress for 4 s while running transformer_step/, {
    timeout: 60_000,
  });
  await expect(ui.error).toContainText('Try again');
  const after = await ui.snapshot();
  expect(after.run?.status).toBe('failed');
  expect(after.image).toEqual(before.image);
  expect(after.history).toEqual(before.history);

  // The stopped worker is replaced and the model opened again from the browser's cache.
  await expect.poll(() => inUse(ui), { timeout: 90_000 }).toBe('ready: tiny-random on wasm');
  await ui.runButton.click();
  expect(await ui.waitForDone()).toBe(ui.editSteps);
  const done = await ui.snapshot();
  expect(done.history.length).toBe(before.history.length + 1);
  expect(done.image).toEqual(before.image);
});

test('a session whose weights never arrive while another model loads: the message names the graph, the model in use comes back, and Load works again @wasm', async ({
  ui,
  page,
}) => {
  test.setTimeout(240_000);
  await openTiny(ui);
  await ui.choose('photo.jpg');
  await ui.expectImage(640, 427);
  const before = await ui.snapshot();

  await ui.call('armStall', 'vq_decode', 'session', BOUND_MS);
  await page.getByTestId('model-select').selectOption('shapes');
  await page.getByTestId('load-model').click();
  await expect(ui.notice).toContainText(
    /no progress for 4 s while creating the session of vq_decode \(\d+ MB\)/,
    {
      timeout: 90_000,
    },
  );
  await expect(ui.notice).toContainText('Try again');
  await expect(ui.notice).toContainText('Reopening tiny-random');
  await expect.poll(() => inUse(ui), { timeout: 90_000 }).toBe('ready: tiny-random on wasm');
  const kept = await ui.snapshot();
  expect(kept.image).toEqual(before.image);
  expect(kept.history).toEqual(before.history);

  // The retry: the same load in the fresh worker completes, and the new model edits.
  await page.getByTestId('model-select').selectOption('shapes');
  await page.getByTestId('load-model').click();
  await expect
    .poll(async () => ((s) => `${s.modelStatus}: ${s.model?.name}`)(await ui.snapshot()), { timeout: 90_000 })
    .toBe('ready: shapes');
  await ui.setSteps(ui.editSteps);
  await ui.edit('remove the red circle');
  expect(await ui.waitForDone()).toBe(ui.editSteps);
  expect((await ui.snapshot()).history.length).toBe(before.history.length + 1);
});
