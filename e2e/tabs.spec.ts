/**
 * Two tabs of one browser profile share the saved history: each keeps the other's entries.
 * Tab A opens an image and edits it, tab B opens another image and edits it, A edits again, then a
 * reload (in either tab) shows all of them, images included.
 */
import { test, expect, AppUi } from './fixtures';

test.describe.configure({ timeout: 360_000 });

test('two tabs editing alternately keep both histories across a reload @wasm', async ({
  ui,
  page,
  context,
  backendChoice,
}) => {
  const a = ui;
  await a.openReady();
  await a.setSteps(2);
  await a.choose('photo.jpg');
  await a.expectImage(640, 427);
  await a.edit('make the sky purple');
  await a.waitForDone();
  await a.call('flush');

  const pageB = await context.newPage();
  const b = new AppUi(pageB, backendChoice);
  await b.open();
  await pageB.getByTestId('backend-select').selectOption(backendChoice);
  await expect.poll(async () => (await b.snapshot()).model?.backend, { timeout: 90_000 }).toBe(backendChoice);
  // B starts from what A saved: A's open and edit.
  await expect(b.historyItems).toHaveCount(2);
  await b.setSteps(2);
  await b.choose('small.bmp');
  await b.expectImage(64, 48);
  await b.edit('make it blue');
  await b.waitForDone();
  await b.call('flush');
  await expect(b.historyItems).toHaveCount(4);

  // A does not know B's entries; its next save must leave them alone.
  await a.edit('make the grass red');
  await a.waitForDone();
  await a.call('flush');
  await expect(a.historyItems).toHaveCount(3);

  for (const p of [page, pageB]) {
    await p.reload();
    await p.waitForFunction(() => window.__editmgt !== undefined);
  }
  const labels = [
    'photo.jpg',
    '“make the sky purple”',
    'small.bmp',
    '“make it blue”',
    '“make the grass red”',
  ];
  for (const tab of [a, b]) {
    await expect(tab.historyItems).toHaveCount(5);
    await expect(tab.historyItems).toHaveText(labels);
  }
  // Every entry's images came back: stepping to B's edit shows its result at B's image size.
  await a.historyItems.nth(3).click();
  await expect.poll(async () => (await a.snapshot()).result).toEqual({ width: 64, height: 48 });
  await a.historyItems.nth(1).click();
  await expect.poll(async () => (await a.snapshot()).result).toEqual({ width: 640, height: 427 });
});
