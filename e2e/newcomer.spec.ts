/**
 * A newcomer's first minutes: Run pressed while the chosen image is still opening runs on that
 * image once it is open.
 */
import { readFileSync } from 'node:fs';
import { test, expect, imagePath } from './fixtures';

test.describe.configure({ timeout: 240_000 });

test('Run pressed right after choosing a file waits for the image and then runs @wasm', async ({
  ui,
  page,
}) => {
  await ui.openReady();
  await ui.setSteps(2);
  await ui.instruction.fill('make the sky purple');
  const b64 = readFileSync(imagePath('photo.jpg')).toString('base64');
  // The drop and the click happen in one task: the image cannot have opened in between.
  await page.evaluate((b64) => {
    const data = new DataTransfer();
    data.items.add(
      new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'photo.jpg', { type: 'image/jpeg' }),
    );
    const stage = document.querySelector('[data-testid="stage"]') ?? document.body;
    for (const t of ['dragenter', 'dragover', 'drop'])
      stage.dispatchEvent(new DragEvent(t, { dataTransfer: data, bubbles: true, cancelable: true }));
    (document.querySelector('[data-testid="run"]') as HTMLButtonElement).click();
  }, b64);
  await expect.poll(async () => (await ui.snapshot()).run?.status ?? null, { timeout: 60_000 }).toBe('done');
  const snap = await ui.snapshot();
  expect(snap.error).toBeNull();
  expect(snap.result).toEqual({ width: 640, height: 427 });
  await expect(ui.historyItems).toHaveCount(2);
});

test('a built copy reopens with the network gone: the shell from its service worker, the model from OPFS @wasm', async ({
  ui,
  page,
  context,
}) => {
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

test('the shapes model offers examples from its domain, and says plainly when an image is outside it @wasm', async ({
  ui,
  page,
}) => {
  await page.goto('/');
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  const examples = page.getByTestId('domain-example');
  await expect(examples).toHaveCount(4);
  // Every example thumbnail is a decoded picture.
  for (const img of await examples.locator('img').all())
    await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(128);

  await examples.first().click();
  await ui.expectImage(128, 128);
  await expect(ui.instruction).toHaveValue('remove the square');
  await expect(page.getByTestId('domain-notice')).toHaveCount(0);
  await ui.setSteps(2);
  await ui.runButton.click();
  await expect.poll(async () => (await ui.snapshot()).run?.status ?? null, { timeout: 120_000 }).toBe('done');
  // The model's own result is not flagged either.
  await expect(page.getByTestId('domain-notice')).toHaveCount(0);

  // A photo is outside: the notice says what the model knows, what to expect, and how to get EditMGT.
  await ui.drop('photo.jpg');
  await ui.expectImage(640, 427);
  const notice = page.getByTestId('domain-notice');
  await expect(notice).toContainText('was trained only on synthetic 128×128 pictures');
  await expect(notice).toContainText('photos');
  await expect(notice).toContainText('load EditMGT itself');
  await ui.documentState('12-out-of-domain');
  await page.getByTestId('domain-notice-model').click();
  await expect(page.getByTestId('model-select')).toBeFocused();
  // Going back to the example in the history removes the notice.
  await ui.historyItems.first().click();
  await expect(notice).toHaveCount(0);
});

test('a model without a declared domain shows no examples and no notice @wasm', async ({ ui, page }) => {
  await ui.openReady();
  await ui.drop('photo.jpg');
  await ui.expectImage(640, 427);
  await expect(page.getByTestId('domain-examples')).toHaveCount(0);
  await expect(page.getByTestId('domain-notice')).toHaveCount(0);
});
