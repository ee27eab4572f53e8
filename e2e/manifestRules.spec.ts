/**
 * The manifest rules through the app's worker: the same messages as every other package source
 * (src/engine/manifestSources.test.ts) for a web page (by its type, or by its first character), a
 * manifest over 16 MiB and broken JSON. A wrong address is "unavailable", a broken file "invalid".
 */
import { expect, test } from './fixtures';

const PAGE = '<!DOCTYPE html>\n<html><body>Welcome</body></html>';
const CASES = [
  { name: 'web-page', type: 'text/html', body: PAGE, code: 'model-unavailable' },
  { name: 'web-page-as-text', type: 'text/plain', body: PAGE, code: 'model-unavailable' },
  {
    name: 'oversized',
    type: 'application/json',
    body: `{"name": "${' '.repeat(17 << 20)}"}`,
    code: 'model-unavailable',
  },
  { name: 'broken-json', type: 'application/json', body: '{"name": "tiny', code: 'model-invalid' },
] as const;
const MESSAGES: Record<(typeof CASES)[number]['name'], (url: string) => RegExp> = {
  'web-page': (url) =>
    new RegExp(`^${url} sent a web page, not a model manifest\\. Is this a model package URL\\?$`),
  'web-page-as-text': (url) =>
    new RegExp(`^${url} sent a web page, not a model manifest\\. Is this a model package URL\\?$`),
  oversized: (url) =>
    new RegExp(
      `^${url} is too large: at least \\d+ bytes, where such a file may be at most 16 MiB\\. Is this a model package URL\\?$`,
    ),
  'broken-json': (url) => new RegExp(`^${url} is not a JSON manifest$`),
};

test('a web page, an oversized manifest and broken JSON get the engine’s one message @wasm', async ({
  editor,
  page,
}) => {
  await editor.open();
  for (const c of CASES) {
    await page
      .context()
      .route(`**/models/${c.name}/manifest.json`, (route) =>
        route.fulfill({ status: 200, contentType: c.type, body: c.body }),
      );
    const r = await editor.call('loadDirect', `/models/${c.name}/`, 'wasm', 'auto');
    const url = `http://127\\.0\\.0\\.1:\\d+/models/${c.name}/manifest\\.json`;
    expect(r.error?.code, c.name).toBe(c.code);
    expect(r.error?.message, c.name).toMatch(MESSAGES[c.name](url));
  }
});
