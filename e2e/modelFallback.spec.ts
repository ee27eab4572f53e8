/**
 * A model that fails to load is never kept as the choice: a same-site link that fails leaves the
 * saved model in use (a plain visit does not try the link again), and a saved model that fails
 * gives way to the bundled default, with a notice saying what happened.
 */
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { startModelServer } from './modelServer';

test.describe.configure({ timeout: 240_000 });

/** Paths of the requests the page makes from now on that contain `part`. */
function watch(page: Page, part: string): string[] {
  const seen: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes(part)) seen.push(new URL(r.url()).pathname);
  });
  return seen;
}

for (const [link, path] of [
  ['/nope/', '/nope/'],
  // a literal "%20javascript:…" resolves to a path on this site, "/%20javascript:alert(1)/"
  ['%20javascript:alert(1)', '/%20javascript:alert(1)/'],
]) {
  test(`a link to ${link} that fails is not saved: the saved model loads, and a plain visit does not try it again @wasm`, async ({
    ui,
    page,
  }) => {
    const tried = watch(page, path.slice(0, 6));
    await page.goto(`/?model=${encodeURIComponent(link)}`);
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await expect(ui.notice).toContainText(`The linked model ${path} could not be loaded`);
    await expect(ui.notice).toContainText('shapes (/models/shapes/) is loaded instead');
    expect(tried.length).toBeGreaterThan(0);
    await ui.call('flush');

    tried.length = 0;
    await page.goto('/');
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await expect(ui.notice).toHaveCount(0);
    await expect(ui.error).toHaveCount(0);
    expect(tried).toEqual([]);
  });
}

test('a saved model that fails falls back to the bundled default, with a notice; it is not tried again @wasm', async ({
  ui,
  page,
}) => {
  const server = await startModelServer(join('public', 'models', 'tiny-random'));
  try {
    await page.goto('/');
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await page.getByTestId('model-select').selectOption('__custom__');
    await page.getByTestId('model-url').fill(server.url);
    await page.getByTestId('load-model').click();
    await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
    await ui.call('flush');

    // The host now serves something that is no model package.
    server.misbehaviour.manifest = '{"name": "not a package"}';
    await page.goto('/');
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await expect(ui.notice).toContainText(`The saved model ${server.url} could not be loaded`);
    await expect(ui.notice).toContainText('shapes (/models/shapes/) is loaded instead');
    await ui.call('flush');

    const before = server.requests.length;
    await page.goto('/');
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await expect(ui.notice).toHaveCount(0);
    expect(server.requests.length).toBe(before);
  } finally {
    await server.close();
  }
});

test('a link to " javascript:alert(1)" (a space before it) is refused as a script address, and nothing is saved @wasm', async ({
  ui,
  page,
}) => {
  await page.goto('/?model=%20javascript:alert(1)');
  await expect(ui.error).toContainText('a javascript: address is refused');
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  await ui.call('flush');
  await page.goto('/');
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  await expect(ui.error).toHaveCount(0);
});
