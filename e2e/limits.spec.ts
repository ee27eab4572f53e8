/**
 * Edges a person can reach by accident: an instruction of invisible characters, a very long
 * instruction (its truncation said once, its word buttons capped), a full history (the dropped
 * steps said), and a huge AVIF refused from its header.
 */
import { readFileSync } from 'node:fs';
import { test, expect, imagePath } from './fixtures';

test.describe.configure({ timeout: 240_000 });

test('an instruction of only zero-width characters does not run, and says why @wasm', async ({ ui }) => {
  await ui.openReady();
  await ui.drop('small.bmp');
  await ui.expectImage(64, 48);
  await ui.instruction.fill('\u200b\u200c\u200d\u2060\ufeff');
  await ui.runButton.click();
  await expect(ui.error).toContainText('only invisible characters');
  expect((await ui.snapshot()).run).toBeNull();
});

test('a 200,000-character instruction: truncation said once, a capped row of word buttons @wasm', async ({
  ui,
  page,
}) => {
  await ui.openReady();
  await ui.drop('small.bmp');
  await ui.expectImage(64, 48);
  await ui.setSteps(2);
  const long = 'make the sky purple '.repeat(10_000);
  expect(long.length).toBe(200_000);
  await ui.instruction.fill(long);
  await ui.runButton.click();
  await ui.waitForDone();
  const notice = (await ui.notice.textContent()) ?? '';
  expect(notice.match(/longer than the model reads/g)).toHaveLength(1);
  await expect(page.getByTestId('word-chip')).toHaveCount(64);
  await expect(page.getByTestId('more-words')).toHaveText('and 39936 more words, not shown');
});

test('a full history says that its oldest step was dropped @wasm', async ({ ui }) => {
  await ui.openReady();
  for (let i = 1; i <= 24; i++) {
    await ui.drop('small.bmp');
    await expect(ui.historyItems).toHaveCount(i);
  }
  await expect(ui.notice).not.toContainText('dropped');
  await ui.drop('small.bmp');
  await expect(ui.notice).toContainText('its oldest step was dropped');
  await expect(ui.historyItems).toHaveCount(24);
});

test('a 12000×12000 AVIF is refused from its header, before decoding @wasm', async ({ ui, page }) => {
  // Count decodes: the refusal must come before any (a 12000×12000 decode holds ~576 MB).
  await page.addInitScript(() => {
    const decode = window.createImageBitmap.bind(window);
    const w = window as unknown as { __decodes: number };
    w.__decodes = 0;
    window.createImageBitmap = ((...args: Parameters<typeof createImageBitmap>) => {
      w.__decodes += 1;
      return decode(...args);
    }) as typeof createImageBitmap;
  });
  await ui.openReady();
  const bytes = readFileSync(imagePath('photo.avif'));
  const at = bytes.indexOf('ispe');
  bytes.writeUInt32BE(12000, at + 8);
  bytes.writeUInt32BE(12000, at + 12);
  await ui.fileInput.setInputFiles({ name: 'huge.avif', mimeType: 'image/avif', buffer: bytes });
  await expect(ui.error).toContainText('12000×12000 (144 megapixels); the limit is 50');
  expect((await ui.snapshot()).image).toBeNull();
  expect(await page.evaluate(() => (window as unknown as { __decodes: number }).__decodes)).toBe(0);
  // The real file still opens.
  await ui.choose('photo.avif');
  await ui.expectImage(640, 427);
});
