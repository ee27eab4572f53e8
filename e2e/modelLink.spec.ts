/**
 * Model packages named by a link or typed in: a package on another site waits for the person's
 * yes (its host shown first, its download size once they ask for it, nothing but its manifest
 * fetched before), script,
 * data and file:// addresses are refused with a message, and relative paths mean this site's.
 * "Another site" here is the same preview server reached as localhost instead of 127.0.0.1.
 */
import { test, expect } from './fixtures';

test.describe.configure({ timeout: 240_000 });

const foreignBase = (baseURL: string) => baseURL.replace('127.0.0.1', 'localhost');

test('a link to a package on another host asks first, showing host and size; yes loads it @wasm', async ({
  ui,
  page,
  baseURL,
}) => {
  const foreign = `${foreignBase(baseURL!)}/models/tiny-random/`;
  const fetched: string[] = [];
  page.on('request', (r) => {
    if (r.url().startsWith(foreignBase(baseURL!))) fetched.push(new URL(r.url()).pathname);
  });
  await page.goto(`/?model=${encodeURIComponent(foreign)}`);
  const offer = page.getByTestId('foreign-model');
  await expect(offer).toBeVisible();
  await expect(page.getByTestId('foreign-model-host')).toHaveText(new URL(foreign).host);
  // Meanwhile the editor's own model loads and works; nothing came from the other host.
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  expect(fetched).toEqual([]);
  await page.getByTestId('foreign-model-check').click();
  await expect(page.getByTestId('foreign-model-size')).toHaveText(
    /^\d+(\.\d)? (B|KB|MB|GB)( to \d+(\.\d)? (B|KB|MB|GB), by precision)?$/,
  );
  // Only the manifest came from the other host before the yes.
  expect(fetched).toEqual(['/models/tiny-random/manifest.json']);
  expect((await ui.snapshot()).model?.name).toBe('shapes');

  await page.getByTestId('foreign-model-accept').click();
  await expect(offer).toHaveCount(0);
  await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
  expect(fetched.some((p) => p.endsWith('.onnx'))).toBe(true);
});

test('saying no keeps the current model and downloads nothing; a reload does not ask again @wasm', async ({
  ui,
  page,
  baseURL,
}) => {
  const foreign = `${foreignBase(baseURL!)}/models/tiny-random/`;
  const graphs: string[] = [];
  page.on('request', (r) => {
    if (r.url().startsWith(foreignBase(baseURL!)) && r.url().endsWith('.onnx')) graphs.push(r.url());
  });
  await page.goto(`/?model=${encodeURIComponent(foreign)}`);
  await page.getByTestId('foreign-model-check').click();
  await expect(page.getByTestId('foreign-model-accept')).toBeVisible();
  await page.getByTestId('foreign-model-decline').click();
  await expect(page.getByTestId('foreign-model')).toHaveCount(0);
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  await ui.call('flush');
  await page.goto('/');
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  await expect(page.getByTestId('foreign-model')).toHaveCount(0);
  expect(graphs).toEqual([]);
});

test('an unreachable package on another host is explained, and nothing else changes @wasm', async ({
  page,
  baseURL,
}) => {
  await page.goto(`/?model=${encodeURIComponent(`${foreignBase(baseURL!)}/no/such/package/`)}`);
  await page.getByTestId('foreign-model-check').click();
  await expect(page.getByTestId('foreign-model-problem')).toContainText('not a model manifest');
  await expect(page.getByTestId('foreign-model-contact')).toContainText(
    `This page asked ${new URL(baseURL!.replace('127.0.0.1', 'localhost')).host} for the package’s manifest`,
  );
  await expect(page.getByTestId('foreign-model-accept')).toHaveCount(0);
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
});

test('javascript:, data: and file:// model addresses are refused with a message; the model stays @wasm', async ({
  ui,
  page,
}) => {
  await page.goto(`/?model=${encodeURIComponent('javascript:alert(1)')}`);
  await expect(ui.error).toContainText('a javascript: address is refused');
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });

  await page.getByTestId('model-select').selectOption('__custom__');
  for (const [url, text] of [
    ['data:application/json,{}', 'a data: address is refused'],
    ['file:///home/me/editmgt/', 'Serve the folder over HTTP'],
  ]) {
    await page.getByTestId('model-url').fill(url);
    await page.getByTestId('load-model').click();
    await expect(ui.error).toContainText(text);
    expect((await ui.snapshot()).model?.name).toBe('shapes');
  }
});

test('a relative model path means this site’s folder @wasm', async ({ ui, page }) => {
  await page.goto('/');
  await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
  await page.getByTestId('model-select').selectOption('__custom__');
  await page.getByTestId('model-url').fill('models/tiny-random');
  await page.getByTestId('load-model').click();
  await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
  expect((await ui.snapshot()).error).toBeNull();
});
