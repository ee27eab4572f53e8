/**
 * A checkpoint folder opened from disk and converted in the tab, in real Chromium against the
 * built app: the tiny checkpoint made by the exporter's own builder (`python -m editmgt_export
 * layouts`), the converter core in the engine worker with the shipped templates fetched from the
 * app's origin, onnxruntime-web (WASM) for the codebook colours' VQ decode, the package written
 * into the model store (OPFS).
 * - The folder picker offers the conversion (model, size, dtype, space); on a yes the package is
 *   written, listed under the folder's name and loaded; its files are byte for byte those of the
 *   node converter (`npm run convert`) on the same folder, and an edit with it gives the node
 *   engine's tokens at every step (fp32: exact).
 * - Cancel, and a reload mid-conversion (the conversion is held mid-way by holding one template's
 *   response): nothing is listed or kept; after the reload the interrupted conversion is offered
 *   to be started again from the folder.
 * - Bad inputs: refused with a message naming the file; the model and image in use stay, nothing
 *   is listed and nothing of the conversion is kept.
 * Needs the exporter's venv (tools/export/.venv); without it the tests fail saying so.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { fallbackEditOptions } from '../src/engine/index';
import type { RgbaImage } from '../src/engine/index';
import { EditMGT } from '../src/engine/runtime/node/index';
import type { EditSettings } from '../src/protocol/messages';
import { stallBoundMs } from '../workers/watchdog';
import { test, expect, type AppUi } from './fixtures';

test.describe.configure({ timeout: 240_000 });
// the app shell's service worker would stand between the page and the held template responses
test.use({ serviceWorkers: 'block' });

/**
 * codebook colours, in [0, 1]: float32 convolutions summed in an order that depends on the runtime
 * and the CPU, then rounded to 6 decimals (the node converter's test holds them to 1e-5 too)
 */
const COLOR_TOLERANCE = 1e-5;

const EXPORT = resolve('tools/export');
const PYTHON = join(EXPORT, '.venv/bin/python');

let root: string;
let layouts: string;
let nodeOut: string;
let nodeSeconds = 0;

test.beforeAll(() => {
  if (!existsSync(PYTHON))
    throw new Error(
      `the exporter's Python is missing (${PYTHON}): run npm run export:setup, then this test again`,
    );
  root = mkdtempSync(join(tmpdir(), 'editmgt-convert-tab-'));
  layouts = join(root, 'layouts');
  execFileSync(PYTHON, ['-m', 'editmgt_export', 'layouts', '--out', layouts], { cwd: EXPORT, stdio: 'pipe' });
  // the node converter on the same checkpoint, named as the tab names it (after the folder)
  nodeOut = join(root, 'node', 'my-ckpt');
  const started = performance.now();
  nodeConvert('my-ckpt', 'fp32', nodeOut);
  nodeSeconds = (performance.now() - started) / 1000;
  nodeConvert('reloaded', 'q8', join(root, 'node', 'reloaded'));
});

/** `npm run convert` (cli/convert.ts) on the single layout, the package named `name` as the tab names it. */
function nodeConvert(name: string, dtype: string, out: string): void {
  execFileSync(
    'npx',
    [
      'tsx',
      'cli/convert.ts',
      '--source',
      join(layouts, 'single'),
      '--dtype',
      dtype,
      '--out',
      out,
      '--name',
      name,
      '--source-id',
      name,
      '--quiet',
    ],
    { stdio: 'pipe' },
  );
}

test.afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A copy of a layout of the tiny checkpoint as `<tmp>/<name>`, changed by `change`. */
function checkpointFolder(name: string, layout = 'single', change?: (dir: string) => void): string {
  const dir = join(mkdtempSync(join(root, 'pick-')), name);
  cpSync(join(layouts, layout), dir, { recursive: true });
  change?.(dir);
  return dir;
}

/** Every file under `dir`, as `/`-separated paths relative to it. */
function listFiles(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(dir, `${rel}${e.name}/`) : [`${rel}${e.name}`],
  );
}

type Listing = { entries(): AsyncIterable<[string, FileSystemHandle]> };

/** What the origin's storage holds: each model store folder's names, and the conversion job folders. */
function stored(page: Page): Promise<{ models: { key: string; names: string[] }[]; converting: string[] }> {
  return page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const list = async (name: string) => {
      const dir = await root.getDirectoryHandle(name).catch(() => null);
      const out: { key: string; names: string[] }[] = [];
      if (!dir) return out;
      for await (const [key, handle] of (dir as unknown as Listing).entries()) {
        if (handle.kind !== 'directory') continue;
        const names: string[] = [];
        for await (const [n] of (handle as unknown as Listing).entries()) names.push(n);
        out.push({ key, names: names.sort() });
      }
      return out.sort((a, b) => a.key.localeCompare(b.key));
    };
    return { models: await list('models'), converting: (await list('converting')).map((j) => j.key) };
  });
}

const folderOptions = (page: Page) =>
  page.getByTestId('model-select').locator('option', { hasText: '(from a folder)' });

async function readyWithImage(ui: AppUi): Promise<void> {
  await ui.openReady();
  await ui.choose('photo.jpg');
  await expect.poll(async () => (await ui.snapshot()).image).not.toBeNull();
}

/** Records each text the conversion's status line shows, from now on (read with `seenConvertStatus`). */
async function watchConvertStatus(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { __convertStatusSeen: string[] }).__convertStatusSeen = seen;
    const record = () => {
      const text = document.querySelector('[data-testid="convert-status"]')?.textContent;
      if (text && seen.at(-1) !== text) seen.push(text);
    };
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
}

async function seenConvertStatus(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __convertStatusSeen: string[] }).__convertStatusSeen);
}

/** Holds the response of one template file until `release()`; `reached` settles when it was asked for. */
async function holdTemplate(context: BrowserContext, file: string) {
  let release!: () => void;
  let reached!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const asked = new Promise<void>((r) => (reached = r));
  await context.route(`**/templates/tiny-random/${file}`, async (route) => {
    reached();
    await held;
    await route.continue().catch(() => undefined);
  });
  return { release, reached: asked };
}

/** The model, image and storage as they were, and the refusal's text. */
async function expectRefused(
  ui: AppUi,
  page: Page,
  said: RegExp,
  before: Awaited<ReturnType<typeof snapshotAll>>,
) {
  await expect(ui.error).toContainText(said);
  const message = (await ui.error.textContent()) ?? '';
  expect(message).toContain(`${before.snapshot.model!.name} is still loaded and ready`);
  const after = await ui.snapshot();
  expect(after.model?.name).toBe(before.snapshot.model!.name);
  expect(after.modelStatus).toBe('ready');
  expect(after.image).toEqual(before.snapshot.image);
  await expect(folderOptions(page)).toHaveCount(0);
  await expect.poll(() => stored(page)).toEqual(before.stored);
  await expect(page.getByTestId('convert-progress')).toHaveCount(0);
  return message;
}

async function snapshotAll(ui: AppUi, page: Page) {
  return { snapshot: await ui.snapshot(), stored: await stored(page) };
}

/**
 * The package stored under `name` is the node converter's in `nodeDir`, byte for byte: each
 * stored file (by its sha256, with its verified mark), and the manifest but for the codebook
 * colours (within COLOR_TOLERANCE). Returns its key.
 */
async function expectNodePackage(page: Page, name: string, nodeDir: string) {
  // byte for byte the node converter's package: the manifest, and each stored file by its sha256
  const nodeManifestText = readFileSync(join(nodeDir, 'manifest.json'), 'utf8');
  const nodeManifest = JSON.parse(nodeManifestText) as {
    files: { path: string; bytes: number; sha256: string }[];
  };
  for (const f of nodeManifest.files)
    expect(
      createHash('sha256')
        .update(readFileSync(join(nodeDir, f.path)))
        .digest('hex'),
    ).toBe(f.sha256);
  const inTab = await page.evaluate(async (name) => {
    const models = await (await navigator.storage.getDirectory()).getDirectoryHandle('models');
    for await (const [, handle] of (
      models as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }
    ).entries()) {
      if (handle.kind !== 'directory') continue;
      const dir = handle as FileSystemDirectoryHandle;
      const local = await dir.getFileHandle('local.json').catch(() => null);
      if (!local) continue;
      const record = JSON.parse(await (await local.getFile()).text()) as { url: string; name: string };
      if (record.name !== name) continue;
      const manifest = await (await (await dir.getFileHandle('manifest.json')).getFile()).text();
      const files: Record<string, string> = {};
      for (const f of (JSON.parse(manifest) as { files: { sha256: string }[] }).files) {
        const bytes = await (await (await dir.getFileHandle(f.sha256)).getFile()).arrayBuffer();
        files[f.sha256] = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))
          .map((b) => b.toString(16).padStart(2, '0'))
          .join('');
        await dir.getFileHandle(`${f.sha256}.verified`);
      }
      return { baseUrl: record.url, manifest, files };
    }
    throw new Error(`no stored package named ${name}`);
  }, name);
  // The manifest is the node converter's byte for byte but for the codebook colours: they come
  // from a float32 VQ decode (onnxruntime-web's WASM kernels here, onnxruntime-node's there) whose
  // sums differ in order, rounded to 6 decimals: within COLOR_TOLERANCE, as the node converter's
  // own test holds them to the exporter's.
  const colours = (text: string) => JSON.parse(text).codebook_colors as number[][];
  const withoutColours = (text: string) => {
    const at = text.indexOf('\n "codebook_colors": ');
    const next = text.indexOf('\n "', at + 1);
    return at < 0 || next < 0 ? text : text.slice(0, at) + text.slice(next);
  };
  expect(withoutColours(inTab.manifest)).toBe(withoutColours(nodeManifestText));
  const [tabColours, nodeColours] = [colours(inTab.manifest), colours(nodeManifestText)];
  expect(tabColours.length).toBe(nodeColours.length);
  let worst = 0;
  tabColours.forEach((rgb, i) =>
    rgb.forEach((v, c) => (worst = Math.max(worst, Math.abs(v - nodeColours[i]![c]!)))),
  );
  console.log(`codebook colours: ${tabColours.length} codes, largest difference from node's ${worst}`);
  expect(worst).toBeLessThanOrEqual(COLOR_TOLERANCE);
  for (const f of nodeManifest.files) expect(inTab.files[f.sha256], f.path).toBe(f.sha256);
  return inTab;
}

const instruction = 'make the circle blue';
const settings: EditSettings = {
  ...fallbackEditOptions(),
  steps: 6,
  guidance: 6,
  referenceStrength: 1.1,
  hold: 0.01,
  seed: 1234,
  negativePrompt: 'blurry',
  composite: true,
};

function picture(): RgbaImage {
  const width = 64;
  const height = 48;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const inCircle = (x - 30) ** 2 + (y - 24) ** 2 < 12 ** 2;
      data[i] = inCircle ? 220 : (x * 3) % 256;
      data[i + 1] = inCircle ? 40 : (y * 4) % 256;
      data[i + 2] = inCircle ? 30 : 128;
      data[i + 3] = 255;
    }
  return { width, height, data };
}

test('a checkpoint folder is offered, converted in the tab, byte for byte the node converter’s package, and edits with the CLI’s tokens @wasm', async ({
  ui,
  page,
}) => {
  await readyWithImage(ui);
  const before = await ui.snapshot();
  const dir = checkpointFolder('my-ckpt');
  await page.getByTestId('open-folder').setInputFiles(dir);
  const offer = page.getByTestId('convert-offer');
  await expect(offer).toContainText('my-ckpt is a checkpoint');
  await expect(page.getByTestId('convert-model')).toContainText(
    /EditMGT checkpoint: transformer of \d+ \+ \d+ layers/,
  );
  await expect(page.getByTestId('convert-space')).toContainText(/Space needed: \d/);
  // the app's pick on WASM is q8; fp32 is chosen here, the dtype whose edits match node's exactly
  await expect(page.getByTestId('convert-dtype')).toHaveValue('q8');
  await page.getByTestId('convert-dtype').selectOption('fp32');
  await watchConvertStatus(page);
  await page.evaluate(() => window.__editmgt!.takeWatchBounds()); // the record starts here
  const started = Date.now();
  await page.getByTestId('convert-accept').click();
  await expect(ui.notice).toContainText(
    /Converted my-ckpt to fp32 \(\d+(\.\d)? (KB|MB)\) in this tab in \d+\.\d s/,
    {
      timeout: 120_000,
    },
  );
  // every stage of the colours' decode is watched with the whole vq_decode's bound (its graph and
  // data files), not its own weights' share: the 512 px tail of the published VQ-GAN holds a
  // fiftieth of its weights and 850 of its 1,909 GFLOP
  const bounds = await page.evaluate(() => window.__editmgt!.takeWatchBounds());
  const decodeFiles = readdirSync(join(nodeOut, 'fp32')).filter((f) => f.startsWith('vq_decode.onnx'));
  const decodeBytes = decodeFiles.reduce((a, f) => a + statSync(join(nodeOut, 'fp32', f)).size, 0);
  console.log(
    `watchdog bounds during the conversion: ${JSON.stringify(bounds)}; vq_decode files ${decodeFiles.join(', ')}`,
  );
  expect(decodeFiles.length).toBeGreaterThan(1); // its graph and its data
  expect(bounds['running vq_decode']).toEqual([
    stallBoundMs({ phase: 'run', backend: 'wasm', bytes: decodeBytes }),
  ]);
  // the codebook colours' decode is shown as its own phase, grid by grid, with its own ETA
  const colours = (await seenConvertStatus(page))
    .map((t) => /^Computing the preview colours: (\d+) of (\d+)( \(about .+ left\))?$/.exec(t))
    .filter((m) => m !== null)
    .map((m) => ({ done: Number(m[1]), total: Number(m[2]), eta: m[3] !== undefined }));
  console.log(`colours phase as shown: ${JSON.stringify(colours)}`);
  expect(colours.length).toBeGreaterThan(1);
  const total = colours[0]!.total;
  expect(total).toBeGreaterThan(0);
  expect(colours.every((c) => c.total === total)).toBe(true);
  expect(colours.map((c) => c.done)).toEqual([...colours.map((c) => c.done)].sort((a, b) => a - b));
  expect(colours.at(-1)!.done).toBe(total);
  // an ETA once a grid is done and while grids are left (none before: nothing to measure the
  // pace by; none after the last)
  expect(colours.every((c) => c.eta === (c.done > 0 && c.done < total))).toBe(true);
  const tabSeconds = (Date.now() - started) / 1000;
  console.log(
    `tiny checkpoint → fp32 package: in the tab ${await ui.notice.textContent()} (${tabSeconds.toFixed(1)} s click to notice); node converter (npx tsx cli/convert.ts, process start included) ${nodeSeconds.toFixed(1)} s`,
  );
  // the model in use stayed until the new one was ready; then the new one is loaded under the folder's name
  expect(before.model?.name).not.toBe('my-ckpt');
  await expect(page.getByTestId('model-badge')).toContainText('my-ckpt', { timeout: 90_000 });
  await expect(folderOptions(page)).toHaveText(['my-ckpt (from a folder)']);
  const model = (await ui.snapshot()).model!;
  expect(model.name).toBe('my-ckpt');

  const inTab = await expectNodePackage(page, 'my-ckpt', nodeOut);
  expect((await stored(page)).converting).toEqual([]);

  // an edit with the converted package: the node engine's tokens on the node converter's package
  const img = picture();
  const browser = await page.evaluate(
    ({ baseUrl, image, instruction, settings }) =>
      window.__editmgt!.editDirect({
        baseUrl,
        backend: 'wasm',
        dtype: 'fp32',
        image: { width: image.width, height: image.height, buffer: new Uint8ClampedArray(image.data).buffer },
        instruction,
        settings,
      }),
    {
      baseUrl: inTab.baseUrl,
      image: { width: img.width, height: img.height, data: [...img.data] },
      instruction,
      settings,
    },
  );
  const editor = await EditMGT.fromPretrained(nodeOut, { dtype: 'fp32' });
  const nodeSteps: number[][] = [];
  await editor.edit(picture(), instruction, { ...settings, onStep: (e) => nodeSteps.push([...e.tokens]) });
  await editor.dispose();
  expect(browser.dtype).toBe('fp32');
  expect(browser.steps.length).toBe(settings.steps);
  expect(browser.steps).toEqual(nodeSteps);
});

test('a checkpoint folder dropped on the page is offered, converted the same way, and edits on the project’s backend (on WebGPU the VQ decode ran on WASM in between)', async ({
  ui,
  page,
}) => {
  await readyWithImage(ui);
  const dir = checkpointFolder('dropped-ckpt');
  const files = listFiles(dir).map((path) => ({
    path,
    b64: readFileSync(join(dir, path)).toString('base64'),
  }));
  // A real folder drag cannot be made from a script: the drop's item hands over a real directory
  // handle (an OPFS folder holding the checkpoint), as Chromium's item does for a folder.
  await page.evaluate(async (files) => {
    const root = await navigator.storage.getDirectory();
    const dropped = await (
      await root.getDirectoryHandle('drop-test', { create: true })
    ).getDirectoryHandle('dropped-ckpt', { create: true });
    for (const { path, b64 } of files) {
      const parts = path.split('/');
      let d = dropped;
      for (const part of parts.slice(0, -1)) d = await d.getDirectoryHandle(part, { create: true });
      const w = await (await d.getFileHandle(parts.at(-1)!, { create: true })).createWritable();
      await w.write(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
      await w.close();
    }
    const item = {
      kind: 'file',
      type: '',
      webkitGetAsEntry: () => ({ isDirectory: true, isFile: false, name: dropped.name }),
      getAsFileSystemHandle: () => Promise.resolve(dropped),
      getAsFile: () => null,
    };
    const data = { types: ['Files'], files: [], items: { length: 1, 0: item } };
    const drop = new Event('drop', { bubbles: true, cancelable: true });
    Object.defineProperty(drop, 'dataTransfer', { value: data });
    document.body.dispatchEvent(drop);
  }, files);
  try {
    await expect(page.getByTestId('convert-offer')).toContainText('dropped-ckpt is a checkpoint');
    await page.getByTestId('convert-accept').click();
    await expect(page.getByTestId('model-badge')).toContainText('dropped-ckpt', { timeout: 90_000 });
    // the dtype the app loads on the backend: q8 on WASM, q4 (or q4f16 with shader-f16) on WebGPU
    await expect(ui.notice).toContainText(
      ui.backendChoice === 'wasm' ? 'Converted dropped-ckpt to q8' : /Converted dropped-ckpt to q4(f16)? /,
    );
    expect((await ui.snapshot()).image).not.toBeNull();
    await ui.setSteps(2);
    await ui.edit('make it red');
    await ui.waitForDone();
    expect((await ui.snapshot()).model?.backend).toBe(ui.backendChoice);
  } finally {
    await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      await root.removeEntry('drop-test', { recursive: true });
    });
  }
});

/**
 * EditMGT's published checkpoint layout as `<tmp>/<name>`: its configs, tokenizers, shards and
 * safetensors headers, every data region a hole (no disk); `change` edits it after.
 */
function publishedHeaders(name: string, change?: (dir: string) => void): string {
  const dir = join(mkdtempSync(join(root, 'pick-')), name);
  execFileSync(PYTHON, [resolve('src/engine/runtime/node/convert/__fixtures__/published_headers.py'), dir], {
    cwd: EXPORT,
    stdio: 'pipe',
  });
  change?.(dir);
  return dir;
}

test('EditMGT’s published checkpoint layout (headers only, its 16 GB of weights holes) is offered with the editmgt-512 templates, in q4 only, the dtype they have @wasm', async ({
  ui,
  page,
}) => {
  const dir = publishedHeaders('published');
  await readyWithImage(ui);
  await page.getByTestId('open-folder').setInputFiles(dir);
  await expect(page.getByTestId('convert-offer')).toContainText('published is a checkpoint');
  await expect(page.getByTestId('convert-model')).toHaveText(
    'EditMGT checkpoint: transformer of 14 + 28 layers, 8 heads of 128, codebook of 8192; 512 px (templates editmgt-512)',
  );
  const dtype = page.getByTestId('convert-dtype');
  // WASM's first choice is q8; these templates have q4 alone, so q4 is the one offered
  await expect(dtype.locator('option')).toHaveText([/^q4 \(3\.\d GB\)$/]);
  await expect(dtype).toHaveValue('q4');
  await expect(page.getByTestId('convert-space')).toContainText(/Space needed: 3\.\d GB/);
  console.log(
    `published layout offer: ${await page.getByTestId('convert-offer').innerText()}`.replace(/\s+/g, ' '),
  );
  await page.getByTestId('convert-decline').click();
  await expect(page.getByTestId('convert-offer')).toHaveCount(0);
  expect((await stored(page)).converting).toEqual([]);
});

test('a checkpoint one config field away from the published one is refused naming that field, the published templates first as the closest @wasm', async ({
  ui,
  page,
}) => {
  const dir = publishedHeaders('one-off', (d) => {
    const file = join(d, 'transformer', 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    config['num_single_layers'] = 27;
    writeFileSync(file, JSON.stringify(config, null, 2));
  });
  await readyWithImage(ui);
  const before = await snapshotAll(ui, page);
  await page.getByTestId('open-folder').setInputFiles(dir);
  console.log(
    `one field off: ${await expectRefused(ui, page, /one-off is an EditMGT checkpoint of a config this app has no converter templates for \(closest: one-off\/transformer\/config\.json num_single_layers is 27, but the templates \(templates\/editmgt-512\) are for 28 \(config\.transformer\.num_single_layers\); one-off\/transformer\/config\.json num_single_layers is 27, but the templates \(templates\/editmgt-1024\) are for 28 \(config\.transformer\.num_single_layers\); one-off\/transformer\/config\.json codebook_size is 8192, but the templates \(templates\/shapes\) are for 512 \(config\.codebook_size\) \(and 9 more config fields\); /, before)}`,
  );
});

test('Cancel mid-conversion leaves nothing that could be taken for a package; the model and image stay @wasm', async ({
  ui,
  page,
  context,
}) => {
  await readyWithImage(ui);
  const before = await snapshotAll(ui, page);
  const hold = await holdTemplate(context, 'q8/transformer_step.onnx');
  await page.getByTestId('open-folder').setInputFiles(checkpointFolder('to-cancel'));
  await page.getByTestId('convert-accept').click();
  await hold.reached;
  const status = page.getByTestId('convert-status');
  await expect(status).toContainText(/of .*; tensor \d+ of \d+; converting; about .* left/);
  console.log(`held mid-conversion: ${await status.textContent()}`);
  // the page answers meanwhile: an edit with the model in use runs to the end
  await ui.setSteps(2);
  await ui.edit('make it red');
  await ui.waitForDone();
  expect((await stored(page)).converting.length).toBe(1);
  await page.getByTestId('convert-cancel').click();
  hold.release();
  await expect(ui.notice).toContainText('Conversion of to-cancel cancelled; nothing of it was kept.');
  await expect.poll(async () => (await stored(page)).converting).toEqual([]);
  expect((await stored(page)).models).toEqual(before.stored.models);
  await expect(folderOptions(page)).toHaveCount(0);
  const after = await ui.snapshot();
  expect(after.model?.name).toBe(before.snapshot.model!.name);
  expect(after.modelStatus).toBe('ready');
});

test('a reload mid-conversion offers to go on; choosing the folder again converts only the graphs not yet written, into the node converter’s package @wasm', async ({
  ui,
  page,
  context,
}) => {
  await readyWithImage(ui);
  // held at the last graph (transformer_step): the four before it are written whole
  const hold = await holdTemplate(context, 'q8/transformer_step.onnx');
  const dir = checkpointFolder('reloaded');
  await page.getByTestId('open-folder').setInputFiles(dir);
  await expect(page.getByTestId('convert-dtype')).toHaveValue('q8');
  await page.getByTestId('convert-accept').click();
  await hold.reached;
  await expect(page.getByTestId('convert-status')).toContainText('converting');
  await page.reload();
  hold.release();
  await page.waitForFunction(() => window.__editmgt !== undefined);
  const offer = page.getByTestId('convert-interrupted');
  await expect(offer).toContainText(
    'The conversion of reloaded to q8 stopped when the page was closed or reloaded, with 4 of 5 graphs written. Choose the folder reloaded again to go on from there',
  );
  await expect(folderOptions(page)).toHaveCount(0);
  expect((await stored(page)).converting.length).toBe(1);

  // the graph templates asked for from here on: only the graph not yet written
  const graphTemplates: string[] = [];
  await context.route('**/templates/tiny-random/**/*.onnx', async (route) => {
    graphTemplates.push(new URL(route.request().url()).pathname.replace(/^.*\/templates\/tiny-random\//, ''));
    await route.fallback();
  });
  await page.getByTestId('open-folder').setInputFiles(dir);
  await page.getByTestId('convert-accept').click();
  await expect(page.getByTestId('model-badge')).toContainText('reloaded', { timeout: 90_000 });
  expect(graphTemplates).toEqual(['q8/transformer_step.onnx']);
  await expect(offer).toHaveCount(0);
  expect((await stored(page)).converting).toEqual([]);
  await expect(folderOptions(page)).toHaveText(['reloaded (from a folder)']);
  await expectNodePackage(page, 'reloaded', join(root, 'node', 'reloaded'));
});

test.describe('bad checkpoint folders: refused naming the file; the model, the image and the store as they were @wasm', () => {
  const cases: {
    what: string;
    name: string;
    layout?: string;
    change?: (dir: string) => void;
    said: RegExp;
  }[] = [
    {
      what: 'neither a manifest nor a checkpoint',
      name: 'pictures',
      change: (dir) => {
        rmSync(dir, { recursive: true });
        cpSync(join(layouts, 'single', 'scheduler'), join(dir, 'notes'), { recursive: true });
      },
      said: /pictures has no manifest\.json: it is not a model package\. Choose the folder that holds a converted package's manifest\.json, or an EditMGT checkpoint's folder/,
    },
    {
      what: 'a missing subfolder',
      name: 'no-vq',
      change: (dir) => rmSync(join(dir, 'vqvae'), { recursive: true }),
      said: /checkpoint no-vq has no 'vqvae' subfolder\. This checkpoint cannot be converted as it is: choose the checkpoint's whole folder/,
    },
    {
      what: 'a truncated tensor',
      name: 'cut-short',
      change: (dir) => {
        const path = join(dir, 'editmgt', 'diffusion_pytorch_model.safetensors');
        truncateSync(path, readFileSync(path).length - 100);
      },
      said: /cut-short\/editmgt\/diffusion_pytorch_model\.safetensors/,
    },
    {
      what: 'an unknown layout (.bin weights only)',
      name: 'bin-weights',
      layout: 'bin-only',
      said: /bin-weights\/text_encoder holds only PyTorch pickle weights \(pytorch_model\.bin\) and no \.safetensors files; pickles are never loaded, since loading one can run code\. Save the model with safetensors/,
    },
  ];
  for (const c of cases)
    test(c.what, async ({ ui, page }) => {
      await readyWithImage(ui);
      const before = await snapshotAll(ui, page);
      await page.getByTestId('open-folder').setInputFiles(checkpointFolder(c.name, c.layout, c.change));
      console.log(`${c.what}: ${await expectRefused(ui, page, c.said, before)}`);
    });

  test('a file that changes after the folder was chosen', async ({ ui, page }) => {
    await readyWithImage(ui);
    const before = await snapshotAll(ui, page);
    const dir = checkpointFolder('changed');
    await page.getByTestId('open-folder').setInputFiles(dir);
    await expect(page.getByTestId('convert-offer')).toBeVisible();
    const path = join(dir, 'text_encoder', 'model.safetensors');
    const bytes = readFileSync(path);
    await new Promise((r) => setTimeout(r, 1100)); // a later modification time than the chosen file's
    writeFileSync(path, bytes);
    await page.getByTestId('convert-accept').click();
    console.log(
      `changed file: ${await expectRefused(ui, page, /changed\/text_encoder\/model\.safetensors could not be read .*Choose the folder again/, before)}`,
    );
  });

  test('storage full mid-conversion', async ({ ui, page, baseURL }) => {
    await readyWithImage(ui);
    const before = await snapshotAll(ui, page);
    const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    const cdp = await page.context().newCDPSession(page);
    try {
      // the real quota cut to 300 KB above what is stored: the fp32 package (about 2.5 MB) fills it part way
      await cdp.send('Storage.overrideQuotaForOrigin', {
        origin: new URL(baseURL!).origin,
        quotaSize: usage + 300_000,
      });
      await page.getByTestId('open-folder').setInputFiles(checkpointFolder('quota-full'));
      await page.getByTestId('convert-dtype').selectOption('fp32');
      await page.getByTestId('convert-accept').click();
      console.log(
        `storage full: ${await expectRefused(ui, page, /The browser's storage filled up while quota-full → fp32\/\S+ was written\. Free disk space or clear the model cache, then convert the folder again/, before)}`,
      );
    } finally {
      await cdp
        .send('Storage.overrideQuotaForOrigin', { origin: new URL(baseURL!).origin })
        .catch(() => undefined);
    }
  });
});
