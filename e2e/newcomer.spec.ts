/**
 * A newcomer's first minutes: Run pressed while the chosen image is still opening runs on that
 * image once it is open.
 */
import { readFileSync } from 'node:fs';
import { test, expect, imagePath } from './fixtures';

test.describe.configure({ timeout: 240_000 });

test('Run pressed right after choosing a file waits for the image and then runs @wasm', async ({ ui, page }) => {
  await ui.openReady();
  await ui.setSteps(2);
  await ui.instruction.fill('make the sky purple');
  const b64 = readFileSync(imagePath('photo.jpg')).toString('base64');
  // The drop and the click happen in one task: the image cannot have opened in between.
  await page.evaluate((b64) => {
    const data = new DataTransfer();
    data.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'photo.jpg', { type: 'image/jpeg' }));
    const stage = document.querySelector('[data-testid="stage"]') ?? document.body;
    for (const t of ['dragenter', 'dragover', 'drop']) stage.dispatchEvent(new DragEvent(t, { dataTransfer: data, bubbles: true, cancelable: true }));
    (document.querySelector('[data-testid="run"]') as HTMLButtonElement).click();
  }, b64);
  await expect.poll(async () => (await ui.snapshot()).run?.status ?? null, { timeout: 60_000 }).toBe('done');
  const snap = await ui.snapshot();
  expect(snap.error).toBeNull();
  expect(snap.result).toEqual({ width: 640, height: 427 });
  await expect(ui.historyItems).toHaveCount(2);
});

test('a built copy reopens with the network gone: the shell from its service worker, the model from OPFS @wasm', async ({ ui, page, context }) => {
  await ui.openReady();
  // The shell is kept once the service worker is active and controls the page.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  await context.setOffline(true);
  try {
    await page.reload();
    await expect(page.getByRole('heading', { name: 'EditMGT' })).toBeVisible();
    await expect(ui.fileInput).toBeAttached();
    await expect(ui.runButton).toBeVisible();
    await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
  } finally {
    await context.setOffline(false);
  }
});
