/**
 * A link to a model package on another host, served by a real second HTTP server: nothing is asked
 * of that host until the person asks for the size (the prompt says which happened), and the size
 * the prompt shows is what the download then fetches from it, byte for byte.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect } from './fixtures';
import { startModelServer, type ModelServer } from './modelServer';

test.describe.configure({ timeout: 240_000 });

const pkgDir = join('public', 'models', 'tiny-random');

/** Bytes the server sent for the package's files (every request but the manifest's). */
function servedBytes(server: ModelServer): number {
  let sum = 0;
  for (const r of server.requests) {
    if (r.path === 'manifest.json') continue;
    const from = Number(/^bytes=(\d+)-$/.exec(r.range ?? '')?.[1] ?? 0);
    sum += statSync(join(pkgDir, r.path)).size - from;
  }
  return sum;
}

test('another host is contacted only when the person asks for the size, and the prompt says so @wasm', async ({
  page,
}) => {
  const server = await startModelServer(pkgDir);
  try {
    await page.goto(`/?model=${encodeURIComponent(server.url)}`);
    await expect(page.getByTestId('foreign-model-host')).toHaveText(new URL(server.url).host);
    // The editor's own model loads meanwhile; by then anything the page meant to fetch was fetched.
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await expect(page.getByTestId('foreign-model-contact')).toHaveAttribute('data-contacted', 'false');
    await expect(page.getByTestId('foreign-model-contact')).toContainText('Nothing has been fetched');
    expect(server.requests).toEqual([]);

    await page.getByTestId('foreign-model-check').click();
    await expect(page.getByTestId('foreign-model-size')).toBeVisible();
    await expect(page.getByTestId('foreign-model-contact')).toHaveAttribute('data-contacted', 'true');
    await expect(page.getByTestId('foreign-model-contact')).toContainText(
      `${new URL(server.url).host} was contacted`,
    );
    expect(server.requests.map((r) => r.path)).toEqual(['manifest.json']);
  } finally {
    await server.close();
  }
});

test('saying no before asking for the size leaves the other host uncontacted @wasm', async ({ ui, page }) => {
  const server = await startModelServer(pkgDir);
  try {
    await page.goto(`/?model=${encodeURIComponent(server.url)}`);
    await page.getByTestId('foreign-model-decline').click();
    await expect(page.getByTestId('foreign-model')).toHaveCount(0);
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await ui.call('flush');
    await page.goto('/');
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    expect(server.requests).toEqual([]);
  } finally {
    await server.close();
  }
});

test('the size the prompt shows is the bytes the download fetches @wasm', async ({ ui, page }) => {
  const server = await startModelServer(pkgDir);
  try {
    await page.goto(`/?model=${encodeURIComponent(server.url)}`);
    await page.getByTestId('foreign-model-check').click();
    const size = page.getByTestId('foreign-model-size');
    await expect(size).toHaveAttribute('title', /bytes/);
    const exact = Object.fromEntries(
      [...((await size.getAttribute('title')) ?? '').matchAll(/(\w+): ([\d,]+) bytes/g)].map((m) => [
        m[1]!,
        Number(m[2]!.replaceAll(',', '')),
      ]),
    );
    await expect(page.getByTestId('model-badge')).toHaveText(/^shapes · /, { timeout: 90_000 });
    await page.getByTestId('foreign-model-accept').click();
    await expect(page.getByTestId('model-badge')).toHaveText(/^tiny-random · /, { timeout: 90_000 });
    const dtype = (await ui.snapshot()).model!.dtype;
    const served = servedBytes(server);
    expect(served).toBeGreaterThan(0);
    expect({ dtype, bytes: exact[dtype] }).toEqual({ dtype, bytes: served });
  } finally {
    await server.close();
  }
});
