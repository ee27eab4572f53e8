/**
 * The shapes checkpoint converted in the tab, in real Chromium against the built app: its
 * checkpoint read back from the shipped package (`python -m shapesworld.recover`), opened as a
 * folder, converted with the shipped templates (templates/shapes, fetched from the app's origin)
 * into the model store. The stored package is the node converter's (`npm run convert`) on the same
 * folder, byte for byte: the manifest (but for the codebook colours, within 1e-5), with the
 * model's defaults, suggestions and domain from the templates, and every file it lists, stored
 * under its sha256 with its verified mark: q8's graphs, the VQ graphs it shares with fp32 (fp32's
 * files, written once), the tokenizers and the domain's example pictures the templates carry.
 * Needs the exporter's venv (tools/export/.venv); without it the test fails saying so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test, expect } from './fixtures';

test.describe.configure({ timeout: 240_000 });

/** as in e2e/convertFolder.spec.ts: float32 sums in another order, rounded to 6 decimals */
const COLOR_TOLERANCE = 1e-5;
const PYTHON = resolve('tools/export/.venv/bin/python');
const NAME = 'shapes-ckpt';

let root: string;
let checkpoint: string;
let nodeOut: string;

test.beforeAll(() => {
  if (!existsSync(PYTHON))
    throw new Error(
      `the exporter's Python is missing (${PYTHON}): run npm run export:setup, then this test again`,
    );
  root = mkdtempSync(join(tmpdir(), 'editmgt-convert-shapes-tab-'));
  checkpoint = join(root, NAME);
  execFileSync(PYTHON, ['-m', 'shapesworld.recover', '--out', checkpoint], {
    cwd: resolve('tools/shapes'),
    stdio: 'pipe',
  });
  nodeOut = join(root, 'node', NAME);
  execFileSync(
    'npx',
    ['tsx', 'cli/convert.ts', '--source', checkpoint, '--dtype', 'q8', '--out', nodeOut].concat([
      '--name',
      NAME,
      '--source-id',
      NAME,
      '--no-card',
      '--quiet',
    ]),
    { stdio: 'pipe' },
  );
});

test.afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

test('the shapes checkpoint converted in the tab is the node converter’s package, its shared VQ graphs and example pictures included @wasm', async ({
  ui,
  page,
}) => {
  await ui.openReady();
  await page.getByTestId('open-folder').setInputFiles(checkpoint);
  await expect(page.getByTestId('convert-offer')).toContainText(`${NAME} is a checkpoint`);
  await expect(page.getByTestId('convert-model')).toContainText('(templates shapes)');
  await expect(page.getByTestId('convert-dtype')).toHaveValue('q8');
  await page.getByTestId('convert-accept').click();
  await expect(ui.notice).toContainText(`Converted ${NAME} to q8`, { timeout: 120_000 });

  const nodeText = readFileSync(join(nodeOut, 'manifest.json'), 'utf8');
  const node = JSON.parse(nodeText) as {
    files: { path: string; sha256: string }[];
    domain: { examples: { path: string }[] };
    codebook_colors: number[][];
  };
  const paths = node.files.map((f) => f.path);
  expect(paths.filter((p) => p.startsWith('fp32/'))).toEqual([
    'fp32/vq_decode.onnx',
    'fp32/vq_decode.onnx.data',
    'fp32/vq_encode.onnx',
    'fp32/vq_encode.onnx.data',
  ]);
  expect(paths.slice(-4)).toEqual(node.domain.examples.map((e) => e.path));

  const inTab = await page.evaluate(async (name) => {
    type Listing = { entries(): AsyncIterable<[string, FileSystemHandle]> };
    const models = await (await navigator.storage.getDirectory()).getDirectoryHandle('models');
    for await (const [, handle] of (models as unknown as Listing).entries()) {
      if (handle.kind !== 'directory') continue;
      const dir = handle as FileSystemDirectoryHandle;
      const local = await dir.getFileHandle('local.json').catch(() => null);
      if (!local || (JSON.parse(await (await local.getFile()).text()) as { name: string }).name !== name)
        continue;
      const manifest = await (await (await dir.getFileHandle('manifest.json')).getFile()).text();
      const digests: Record<string, string> = {};
      for (const f of (JSON.parse(manifest) as { files: { sha256: string }[] }).files) {
        const bytes = await (await (await dir.getFileHandle(f.sha256)).getFile()).arrayBuffer();
        await dir.getFileHandle(`${f.sha256}.verified`);
        digests[f.sha256] = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))]
          .map((b) => b.toString(16).padStart(2, '0'))
          .join('');
      }
      return { manifest, digests };
    }
    throw new Error(`no stored package named ${name}`);
  }, NAME);

  const withoutColours = (text: string) => {
    const at = text.indexOf('\n "codebook_colors": ');
    const next = text.indexOf('\n "', at + 1);
    return text.slice(0, at) + text.slice(next);
  };
  expect(withoutColours(inTab.manifest)).toBe(withoutColours(nodeText));
  const tabColours = (JSON.parse(inTab.manifest) as { codebook_colors: number[][] }).codebook_colors;
  const worst = Math.max(
    ...tabColours.flatMap((rgb, i) => rgb.map((v, c) => Math.abs(v - node.codebook_colors[i]![c]!))),
  );
  expect(worst).toBeLessThanOrEqual(COLOR_TOLERANCE);
  for (const f of node.files) expect(inTab.digests[f.sha256], f.path).toBe(f.sha256);
});
