/**
 * The editor as a person uses it, on the real worker and the real bundled model, in both
 * projects (WebGPU on SwiftShader, and WASM): open → drop a photo → type → run → the step counter
 * reaches N → the heatmap shows and changes with the scrubber → download at the original size →
 * undo → reload keeps the history. Screenshots of the main states go to docs/screenshots/ (wasm project).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withJpegMetadata, withTrailer } from '../src/engine/internal';
import { test, expect, pngSize } from './fixtures';

test.describe.configure({ timeout: 480_000 });

test('drop a photo, run an edit, watch it stream, inspect attention and per-word maps, compare, download, undo, chain, reload', async ({
  ui,
  page,
}, info) => {
  await ui.open();
  await ui.documentState('01-start');
  await ui.openReady();
  // Status: the backend (adapter, or WASM threads) and the model with its precision.
  await expect(page.getByTestId('backend-badge')).toContainText(
    ui.backendChoice === 'webgpu' ? /^WebGPU · \S/ : /^WASM · \d+ threads?/,
  );
  await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · (fp32|fp16|q8|q4|q4f16)$/);
  await ui.drop('photo.jpg');
  await ui.expectImage(640, 427);
  await expect(page.getByTestId('input-image')).toBeVisible();
  await ui.documentState('02-image');

  await ui.setSteps(ui.editSteps);
  await ui.edit('make the sky purple');
  await expect(ui.runButton).toBeDisabled(); // running
  const steps = await ui.waitForDone();
  expect(steps).toBeGreaterThan(1);
  const snap = await ui.snapshot();
  expect(snap.result).toEqual({ width: 640, height: 427 });
  const perStep = snap.run!.stepElapsedMs.map((t, i, a) => t - (a[i - 1] ?? 0));
  info.annotations.push({
    type: 'step timings (ms)',
    description: `${info.project.name}: ${perStep.map((t) => t.toFixed(0)).join(', ')}; total ${snap.run!.ms?.toFixed(0)} ms`,
  });
  console.log(
    `[${info.project.name}] ${steps} steps, per step ms: ${perStep.map((t) => t.toFixed(0)).join(' ')}; edit total ${snap.run!.ms?.toFixed(0)} ms`,
  );

  // The heatmap is on, and the scrubber shows other steps' maps.
  await expect(page.getByTestId('result-image')).toBeVisible();
  await expect(ui.attentionMap).toBeVisible();
  const last = await ui.attentionSignature();
  const seen = new Set([last]);
  for (let i = 0; i < steps - 1; i++) {
    await ui.scrubTo(i);
    await expect(ui.attentionMap).toHaveAttribute('data-step', /\d+/);
    await expect(page.getByTestId('token-grid')).toBeVisible();
    seen.add(await ui.attentionSignature());
  }
  expect(seen.size, 'the attention map differs between steps').toBeGreaterThan(1);
  await ui.scrubTo(0);
  await ui.documentState('04-scrub-step-1');
  await ui.scrubTo(steps - 1);
  await ui.documentState('03-done-attention');
  await ui.attentionToggle.uncheck();
  await expect(ui.attentionMap).toHaveCount(0);
  await ui.attentionToggle.check();
  await expect(ui.attentionMap).toBeVisible();

  // Per-word maps: a word of the instruction shows where it attends, at past steps too.
  const whole = await ui.attentionSignature();
  const sky = page.getByTestId('word-chip').filter({ hasText: 'sky' });
  await sky.click();
  await expect(ui.attentionMap).toHaveAttribute('data-word', 'yes');
  await expect(ui.notice.filter({ hasText: 'No map' })).toHaveCount(0);
  expect(await ui.attentionSignature()).not.toBe(whole);
  await ui.documentState('11-word-map');
  await ui.scrubTo(1);
  await expect(ui.attentionMap).toHaveAttribute('data-step', '1');
  await expect(ui.attentionMap).toHaveAttribute('data-word', 'yes');
  await sky.click();
  await expect(ui.attentionMap).toHaveAttribute('data-word', 'no');
  await ui.scrubTo(steps - 1);

  // Before/after and side by side.
  await page.getByTestId('view-compare').click();
  await expect(page.getByTestId('compare-slider')).toBeVisible();
  await page.getByTestId('compare-slider').fill('30');
  await ui.documentState('05-before-after');
  await page.getByTestId('view-side').click();
  await expect(page.getByTestId('side-by-side')).toBeVisible();
  await ui.documentState('06-side-by-side');
  await page.getByTestId('view-edit').click();

  // Download: a PNG at the original size.
  const download = await ui.download();
  expect(download.suggestedFilename()).toMatch(/\.png$/);
  expect(pngSize(readFileSync(await download.path()))).toEqual({ width: 640, height: 427 });

  // Undo brings back the unedited image; redo the result (keyboard shortcuts).
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+z');
  await ui.expectState('ready');
  expect((await ui.snapshot()).result).toBeNull();
  await expect(page.getByTestId('input-image')).toBeVisible();
  await page.keyboard.press('Control+y');
  await ui.expectState('done');

  // "Use as input" chains the result into the next edit.
  await page.getByTestId('use-as-input').click();
  await ui.expectState('ready');
  await expect(ui.historyItems).toHaveCount(3);
  await expect(ui.historyItems.last()).toHaveAttribute('data-kind', 'chain');
  expect((await ui.snapshot()).result).toBeNull();
  await ui.expectImage(640, 427);

  // A reload keeps the history (images included) and the settings; undo still walks back.
  await ui.call('flush');
  await page.reload();
  await page.waitForFunction(() => window.__editmgt !== undefined);
  await expect(ui.historyItems).toHaveCount(3);
  await expect(page.getByTestId('steps')).toHaveValue(String(ui.editSteps));
  await expect(page.getByTestId('input-image')).toBeVisible();
  await page.getByTestId('undo').click();
  await expect.poll(async () => (await ui.snapshot()).result).toEqual({ width: 640, height: 427 });
  await expect(page.getByTestId('result-image')).toBeVisible();
  await page.getByTestId('undo').click();
  await ui.expectImage(640, 427);
  expect((await ui.snapshot()).result).toBeNull();
});

test('cancel mid-run, then run again', async ({ ui }) => {
  await ui.openReady();
  await ui.choose('photo.jpg');
  await ui.expectImage(640, 427);
  await ui.setSteps(64);
  await ui.edit('make the sky purple');
  await expect(ui.stepCounter).toHaveText(/^[1-9]\d*\/64$/, { timeout: ui.editTimeout });
  await expect(ui.page.getByTestId('eta')).toContainText(/left$/);
  await expect(ui.page.getByTestId('token-grid')).toBeVisible();
  await ui.documentState('07-running');
  await ui.page.keyboard.press('Escape');
  await expect(ui.notice).toContainText('cancelled');
  await ui.expectState('ready');
  const after = await ui.snapshot();
  expect(after.run?.status).toBe('cancelled');
  expect(after.run!.frames).toBeLessThan(64);
  expect(after.history.length).toBe(1); // nothing added

  await ui.setSteps(ui.editSteps);
  await ui.runButton.click();
  expect(await ui.waitForDone()).toBe(ui.editSteps);
  expect((await ui.snapshot()).history.length).toBe(2);
});

const badFiles: [string, RegExp][] = [
  ['text-named.png', /not an image/],
  ['truncated.jpg', /cut off/],
  ['empty.png', /empty \(0 bytes\)/],
  ['huge.png', /10000×6000.*limit is 50/],
];

test('bad files each give a message and the app keeps working', async ({ ui, page }) => {
  await ui.openReady();
  await ui.choose('photo.jpg');
  await ui.expectImage(640, 427);
  for (const [file, message] of badFiles) {
    await ui.choose(file);
    await expect(ui.error).toContainText(message);
    await ui.expectState('error');
    await ui.expectImage(640, 427); // the current image stays
    if (file === 'text-named.png') await ui.documentState('08-bad-file');
  }
  // A 16-bit PNG decodes (to 8 bits) or is refused with a message; either way the app goes on.
  await ui.choose('deep16.png');
  await expect
    .poll(async () => {
      const s = await ui.snapshot();
      return s.image?.width === 96 || (s.error?.source === 'image' && s.error.message.length > 0);
    })
    .toBe(true);
  // And it still edits.
  await ui.drop('photo.jpg');
  await ui.expectImage(640, 427);
  await expect(ui.error).toHaveCount(0);
  await ui.setSteps(ui.editSteps);
  await ui.edit('make the sky purple');
  await ui.waitForDone();
  void page;
});

test("opens valid files with big JPEG metadata, a motion photo's video after the JPEG, bytes after IEND @wasm", async ({
  ui,
}) => {
  await ui.open();
  const read = (p: string) => new Uint8Array(readFileSync(join('e2e', 'fixtures', p)));
  const files = [
    {
      name: 'metadata.jpg',
      mimeType: 'image/jpeg',
      bytes: withJpegMetadata(read('photos/rocket.jpg'), 300_000),
      size: [640, 427],
    },
    {
      name: 'after-iend.png',
      mimeType: 'image/png',
      bytes: withTrailer(read('photos/chelsea.png'), 1),
      size: [451, 300],
    },
    {
      name: 'motion.jpg',
      mimeType: 'image/jpeg',
      bytes: withTrailer(read('images/portrait-exif6.jpg'), 300_000),
      size: [320, 480],
    },
  ] as const;
  for (const f of files) {
    await ui.fileInput.setInputFiles({ name: f.name, mimeType: f.mimeType, buffer: Buffer.from(f.bytes) });
    await ui.expectImage(f.size[0], f.size[1]);
    await expect(ui.error).toHaveCount(0);
  }
});

test('instruction box: model suggestions, Shift+Enter, and what is missing before a run', async ({
  ui,
  page,
}) => {
  // The package's manifest names its suggestions; give the tiny model two.
  const suggestions = ['make the sky purple', 'turn the lake green'];
  await page.route('**/models/tiny-random/manifest.json', async (route) => {
    const manifest = await (await route.fetch()).json();
    await route.fulfill({ json: { ...manifest, suggestions } });
  });
  await ui.openReady();
  await ui.runButton.click();
  await expect(ui.error).toContainText('Add an image first');
  await ui.choose('photo.jpg');
  await ui.expectImage(640, 427);
  await ui.expectState('ready');

  const chips = page.getByRole('group', { name: 'Suggestions' }).getByRole('button');
  await expect(chips).toHaveText(suggestions);
  await chips.nth(1).click();
  await expect(ui.instruction).toHaveValue('turn the lake green');
  await ui.instruction.fill('make the sky');
  await ui.instruction.press('Shift+Enter');
  await ui.instruction.pressSequentially('purple');
  await expect(ui.instruction).toHaveValue('make the sky\npurple');
  await ui.expectState('ready'); // Shift+Enter did not run

  await ui.instruction.fill('');
  await ui.page.keyboard.press('Control+Enter');
  await expect(ui.error).toContainText('Type what to change');
});

test('paste and picker open any decodable format, EXIF orientation applied', async ({ ui, page }) => {
  await ui.open();
  await ui.paste('portrait-exif6.jpg');
  await ui.expectImage(320, 480); // stored 480×320, EXIF orientation 6
  await ui.choose('photo.webp');
  await ui.expectImage(640, 427);
  await ui.drop('small.bmp');
  await ui.expectImage(64, 48);
  await ui.choose('photo.avif');
  await ui.expectImage(640, 427);
  // An animated GIF opens as its first frame (orange; the second is blue).
  await ui.drop('animated.gif');
  await ui.expectImage(80, 60);
  const centre = () =>
    page.getByTestId('input-image').evaluate((c: HTMLCanvasElement) => {
      const [r, g, b] = c.getContext('2d')!.getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
      return r > 200 && g > 100 && g < 180 && b < 80 ? 'orange' : `rgb(${r}, ${g}, ${b})`;
    });
  await expect.poll(centre).toBe('orange');
  await expect(ui.historyItems).toHaveCount(5);
});

test('usable in a narrow window', async ({ ui, page }) => {
  await page.setViewportSize({ width: 420, height: 860 });
  await ui.openReady();
  await ui.choose('portrait-exif6.jpg');
  await ui.expectImage(320, 480);
  for (const id of ['instruction', 'run', 'file-input']) await expect(page.getByTestId(id)).toBeAttached();
  await expect(ui.instruction).toBeInViewport();
  await expect(ui.runButton).toBeInViewport();
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow, 'no sideways scrolling').toBeLessThanOrEqual(0);
  // Keyboard order: picker → instruction → Run.
  await ui.instruction.focus();
  await page.keyboard.press('Shift+Tab');
  await expect(ui.fileInput).toBeFocused();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(ui.runButton).toBeFocused();
  await page.getByTestId('stage').scrollIntoViewIfNeeded();
  await expect(page.getByTestId('input-image')).toBeInViewport();
  await ui.documentState('09-narrow');
});

test('model panel: cache size, clear cache, reload @wasm', async ({ ui, page }) => {
  await ui.openReady();
  await expect(page.getByTestId('cache-size')).toContainText(/\d/);
  await page.getByTestId('clear-cache').click();
  await expect(ui.notice).toContainText('cache cleared');
  await expect(page.getByTestId('cache-size')).toContainText('0 B');
  await page.getByTestId('load-model').click();
  await ui.expectState('loading-model');
  await expect(page.getByTestId('model-progress')).toBeVisible();
  // For the picture, let the first files show their own progress (a local package may finish first).
  await page
    .getByTestId('model-progress')
    .locator('li')
    .first()
    .waitFor({ timeout: 10_000 })
    .catch(() => undefined);
  await ui.documentState('10-model-download');
  await ui.expectState('ready', 90_000);
  await expect(page.getByTestId('cache-size')).not.toContainText(/^Cached in this browser: 0 B$/);

  // A package that is not there: a message naming the address and what to do; the model loaded
  // before stays loaded.
  await page.getByTestId('model-select').selectOption('__custom__');
  await page.getByTestId('model-url').fill('/models/not-here/');
  await page.getByTestId('load-model').click();
  await expect(ui.error).toContainText('/models/not-here/');
  await expect(ui.error).toContainText(/press Load again|Pick another model/);
  await expect(ui.error).toContainText('tiny-random is still loaded and ready');
  await ui.expectState('error');
  await page.getByRole('button', { name: 'Dismiss this message' }).click();
  await ui.expectState('ready');
  // Back to the bundled model: it loads again.
  await page.getByTestId('model-select').selectOption('tiny-random');
  await page.getByTestId('load-model').click();
  await ui.expectState('ready', 90_000);
});

test('inpainting brush and region-hold preview @wasm', async ({ ui, page }) => {
  await ui.openReady();
  await ui.choose('photo.jpg');
  await ui.expectImage(640, 427);
  await page.getByTestId('brush-toggle').check();
  // Inpainting with nothing painted says so instead of editing everything.
  await ui.edit('make the sky purple');
  await expect(ui.error).toContainText('nothing is painted');
  await page.getByRole('button', { name: 'Dismiss this message' }).click();
  await ui.expectState('ready');
  const box = (await page.getByTestId('brush-mask').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.3, { steps: 8 });
  await page.mouse.up();
  const painted = await page.getByTestId('brush-mask').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) n += d[i] > 127 ? 1 : 0;
    return n;
  });
  expect(painted).toBeGreaterThan(100);
  // The stroke is continuous along the drag, not a trail of separate dabs.
  const gaps = await page.getByTestId('brush-mask').evaluate((c: HTMLCanvasElement) => {
    const ctx = c.getContext('2d')!;
    let missing = 0;
    for (let i = 0; i <= 40; i++) {
      const t = i / 40;
      const x = Math.round(c.width * (0.2 + 0.4 * t));
      const y = Math.round(c.height * (0.2 + 0.1 * t));
      if (ctx.getImageData(x, y, 1, 1).data[3] < 128) missing += 1;
    }
    return missing;
  });
  expect(gaps, 'unpainted points along the stroke').toBe(0);
  await ui.documentState('12-brush');
  await ui.setSteps(ui.editSteps);
  await ui.edit('make the sky purple');
  await ui.waitForDone();
  // Far from the painted stroke the result keeps the original pixels.
  await page.getByTestId('view-compare').click();
  const pixelAt = (id: string) =>
    page
      .getByTestId(id)
      .evaluate((c: HTMLCanvasElement) => [
        ...c.getContext('2d')!.getImageData(Math.floor(c.width * 0.9), Math.floor(c.height * 0.9), 1, 1).data,
      ]);
  await expect.poll(() => pixelAt('compare-after')).not.toEqual([0, 0, 0, 0]);
  const [before, after] = [await pixelAt('compare-before'), await pixelAt('compare-after')];
  for (let k = 0; k < 3; k++)
    expect(Math.abs(before[k] - after[k]), `channel ${k} outside the mask`).toBeLessThanOrEqual(12);
  await page.getByTestId('view-edit').click();
  // Moving λ previews the region it would hold, outlined over the attention map.
  await page.getByTestId('lambda-slider').fill('0.5');
  await expect
    .poll(() =>
      page.getByTestId('hold-outline').evaluate((c: HTMLCanvasElement) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) n += d[i] > 0 ? 1 : 0;
        return n;
      }),
    )
    .toBeGreaterThan(0);
  await ui.documentState('13-hold-preview');
});
