/**
 * A decompression bomb in AVIF: huge.avif is a real AVIF of 10000×6000 (60 MP) that weighs
 * 1.4 KB and would decode to 240 MB of pixels (made by fixtures/make_avif_bomb.py; Chromium can
 * decode it). The app refuses it from its header, before any decode, with the message a PNG of that
 * size gets, and the image in use stays.
 */
import { test, expect } from './fixtures';

test('a real 60-megapixel AVIF is refused from its header before decoding; the image in use stays @wasm', async ({
  ui,
  page,
}) => {
  // Every decode goes through createImageBitmap: count them.
  await page.addInitScript(() => {
    const original = window.createImageBitmap.bind(window);
    const counter = window as unknown as { __bitmaps: number };
    counter.__bitmaps = 0;
    window.createImageBitmap = ((...args: Parameters<typeof createImageBitmap>) => {
      counter.__bitmaps += 1;
      return original(...args);
    }) as typeof createImageBitmap;
  });
  const decodes = () => page.evaluate(() => (window as unknown as { __bitmaps: number }).__bitmaps);
  await ui.openReady();
  await ui.choose('photo.jpg');
  await ui.expectImage(640, 427);
  for (const send of [() => ui.choose('huge.avif'), () => ui.drop('huge.avif')]) {
    const before = await decodes();
    await send();
    await expect(ui.error).toContainText(/10000×6000 \(60 megapixels\); the limit is 50/);
    await expect(ui.error).toHaveAttribute('data-source', 'image');
    await ui.expectImage(640, 427);
    expect((await ui.snapshot()).history.length).toBe(1);
    expect(await decodes()).toBe(before);
  }
});
