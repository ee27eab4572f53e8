/**
 * A model package opened from a folder on disk, in real Chromium against the built app: the folder
 * picker (`open-folder`, a webkitdirectory input) copies the package into the model store (OPFS),
 * each file checked against the manifest and marked verified; the package opens under the folder's
 * name, edits, and reopens after a reload from storage with the folder gone from disk. A folder
 * dropped on the page goes through the same import. Bad folders are refused with a message naming
 * the file, the model and image in use stay, and nothing half-copied is listed or kept.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { formatBytes } from '../src/app/lib/progress';
import { test, expect, type AppUi } from './fixtures';

test.describe.configure({ timeout: 240_000 });

const pkgDir = join('public', 'models', 'tiny-random');
const manifest = JSON.parse(readFileSync(join(pkgDir, 'manifest.json'), 'utf8')) as {
  files: { path: string; bytes: number; sha256: string }[];
};
const packageBytes = manifest.files.reduce((s, f) => s + f.bytes, 0);

/** A temporary folder holding `name` (a copy of the tiny package unless `fill` makes it); removed after the test. */
function tempFolder(name: string, fill?: (dir: string) => void): { dir: string; remove: () => void } {
  const parent = mkdtempSync(join(tmpdir(), 'editmgt-folder-'));
  const dir = join(parent, name);
  if (fill) {
    mkdirSync(dir);
    fill(dir);
  } else cpSync(pkgDir, dir, { recursive: true });
  return { dir, remove: () => rmSync(parent, { recursive: true, force: true }) };
}

type Listing = { entries(): AsyncIterable<[string, FileSystemHandle]> };

/** The model store's folders and the names in each (OPFS `models/`). */
function storedPackages(page: Page): Promise<{ key: string; names: string[] }[]> {
  return page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const models = await root.getDirectoryHandle('models').catch(() => null);
    if (!models) return [];
    const out: { key: string; names: string[] }[] = [];
    for await (const [key, handle] of (models as unknown as Listing).entries()) {
      if (handle.kind !== 'directory') continue;
      const names: string[] = [];
      for await (const [name] of (handle as unknown as Listing).entries()) names.push(name);
      out.push({ key, names: names.sort() });
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  });
}

const folderOptions = (page: Page) =>
  page.getByTestId('model-select').locator('option', { hasText: '(from a folder)' });

/** The bundled tiny model loaded and an image open: what a refused folder must leave as it was. */
async function readyWithImage(ui: AppUi): Promise<void> {
  await ui.openReady();
  await ui.choose('photo.jpg');
  await expect.poll(async () => (await ui.snapshot()).image).not.toBeNull();
}

/** Opens `dir` with the picker; expects a refusal containing `said`, and everything as it was. */
async function expectRefused(ui: AppUi, page: Page, dir: string, said: RegExp): Promise<string> {
  const before = await ui.snapshot();
  const stored = await storedPackages(page);
  await page.getByTestId('open-folder').setInputFiles(dir);
  await expect(ui.error).toContainText(said);
  const message = (await ui.error.textContent()) ?? '';
  const kept = before.model!.name;
  expect(message).toContain(`${kept} is still loaded and ready`);
  const after = await ui.snapshot();
  expect(after.model?.name).toBe(kept);
  expect(after.modelStatus).toBe('ready');
  expect(after.image).toEqual(before.image);
  await expect(folderOptions(page)).toHaveCount(0);
  expect(await storedPackages(page)).toEqual(stored);
  return message;
}

test('a package folder opened from disk is copied, verified, edited, and reopens after a reload from storage @wasm', async ({
  ui,
  page,
}) => {
  const folder = tempFolder('my-tiny');
  try {
    await readyWithImage(ui);
    await page.getByTestId('open-folder').setInputFiles(folder.dir);
    // the size said is the package's stored bytes: its manifest's files, summed
    await expect(ui.notice).toContainText(
      new RegExp(
        `Copied my-tiny \\(${formatBytes(packageBytes)}\\) into this browser's storage in \\d+\\.\\d s`,
      ),
    );
    console.log(`copy of the tiny package (${packageBytes} bytes): ${await ui.notice.textContent()}`);
    await expect(page.getByTestId('model-badge')).toContainText('my-tiny', { timeout: 90_000 });
    expect((await ui.snapshot()).model?.name).toBe('my-tiny');
    await expect(folderOptions(page)).toHaveText(['my-tiny (from a folder)']);

    // every listed file stored under its hash with the verified mark, nothing partial left
    const local = (await storedPackages(page)).find((p) => p.names.includes('local.json'));
    expect(local).toBeDefined();
    for (const f of manifest.files) expect(local!.names).toContain(`${f.sha256}.verified`);
    expect(local!.names.filter((n) => n.endsWith('.part'))).toEqual([]);

    await ui.setSteps(2);
    await ui.edit('make it red');
    await ui.expectState('done');

    // The folder is gone from disk: what opens after the reload can only come from storage.
    folder.remove();
    const fetched: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/models/')) fetched.push(r.url());
    });
    await page.goto('/');
    await page.waitForFunction(() => window.__editmgt !== undefined);
    await expect(page.getByTestId('model-badge')).toContainText('my-tiny', { timeout: 90_000 });
    await expect.poll(async () => (await ui.snapshot()).modelStatus).toBe('ready');
    expect(fetched).toEqual([]);
    await ui.choose('photo.jpg');
    await ui.setSteps(2);
    await ui.edit('make it blue');
    await ui.expectState('done');
  } finally {
    folder.remove();
  }
});

test('a folder dropped on the page is opened the same way (through its File System Access handle) @wasm', async ({
  ui,
  page,
}) => {
  await readyWithImage(ui);
  // A real folder drag cannot be made from a script: the drop's item here hands over a real
  // directory handle (an OPFS folder holding the package), as Chromium's item does for a folder.
  await page.evaluate(
    async ({ files }) => {
      const root = await navigator.storage.getDirectory();
      const dropped = await (
        await root.getDirectoryHandle('drop-test', { create: true })
      ).getDirectoryHandle('dropped-tiny', { create: true });
      for (const path of ['manifest.json', ...files]) {
        const parts = path.split('/');
        let dir = dropped;
        for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part, { create: true });
        const w = await (await dir.getFileHandle(parts.at(-1)!, { create: true })).createWritable();
        await w.write(await (await fetch(`/models/tiny-random/${path}`)).arrayBuffer());
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
    },
    { files: manifest.files.map((f) => f.path) },
  );
  try {
    await expect(page.getByTestId('model-badge')).toContainText('dropped-tiny', { timeout: 90_000 });
    await expect(ui.notice).toContainText(`Copied dropped-tiny (${formatBytes(packageBytes)})`);
    // the image open before stays open
    expect((await ui.snapshot()).image).not.toBeNull();
  } finally {
    await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      await root.removeEntry('drop-test', { recursive: true });
    });
  }
});

test.describe('a folder that is not a usable package is refused, naming the file @wasm', () => {
  const cases: {
    what: string;
    name: string;
    fill?: (dir: string) => void;
    change?: (dir: string) => void;
    said: RegExp;
  }[] = [
    {
      what: 'no manifest',
      name: 'pictures',
      fill: (dir) => writeFileSync(join(dir, 'notes.txt'), 'not a model'),
      said: /pictures has no manifest\.json: it is not a model package\. Choose the folder that holds/,
    },
    {
      what: 'a checkpoint folder',
      name: 'EditMGT',
      fill: (dir) => {
        for (const sub of ['editmgt', 'vqvae', 'text_encoder']) {
          mkdirSync(join(dir, sub));
          writeFileSync(join(dir, sub, 'config.json'), '{}');
        }
      },
      // read as a checkpoint to convert (e2e/convertFolder.spec.ts), whose reader names what is missing
      said: /checkpoint EditMGT has no 'tokenizer' subfolder\. This checkpoint cannot be converted as it is: choose the checkpoint's whole folder/,
    },
    {
      what: 'a listed file missing',
      name: 'missing-file',
      change: (dir) => rmSync(join(dir, 'q8', 'vq_decode.onnx')),
      said: /missing-file\/q8\/vq_decode\.onnx is missing: the package's manifest lists it\. Copy the whole package folder again/,
    },
    {
      what: 'a wrong sha256',
      name: 'wrong-hash',
      change: (dir) => {
        const path = join(dir, 'fp32', 'vq_encode.onnx.data');
        const bytes = readFileSync(path);
        bytes[bytes.length - 1] ^= 0xff;
        writeFileSync(path, bytes);
      },
      said: /wrong-hash\/fp32\/vq_encode\.onnx\.data does not match the package's manifest: its sha256 is [0-9a-f]{12}…, the manifest says [0-9a-f]{12}…\. The file is damaged or from another package: copy the package folder again/,
    },
    {
      what: 'a wrong size',
      name: 'wrong-size',
      change: (dir) =>
        writeFileSync(join(dir, 'q4f16', 'text_llm.table'), Buffer.from([1, 2, 3]), { flag: 'a' }),
      said: /wrong-size\/q4f16\/text_llm\.table has \d+ bytes; the manifest says \d+\. The file is damaged or from another package/,
    },
    {
      what: 'a 0-byte file',
      name: 'empty-file',
      change: (dir) => truncateSync(join(dir, 'tokenizer_llm', 'tokenizer.json'), 0),
      said: /empty-file\/tokenizer_llm\/tokenizer\.json is empty \(0 bytes\); the manifest says \d+ bytes\. The copy was cut short: copy the package folder again/,
    },
    {
      what: '10,000 files',
      name: 'huge',
      fill: (dir) => {
        writeFileSync(join(dir, 'manifest.json'), readFileSync(join(pkgDir, 'manifest.json')));
        for (let i = 0; i < 100; i++) {
          mkdirSync(join(dir, `d${i}`));
          for (let j = 0; j < 100; j++) writeFileSync(join(dir, `d${i}`, `f${j}`), '');
        }
      },
      said: /huge holds more than 2000 files; a model package has fewer\. Choose the package's own folder/,
    },
  ];
  for (const c of cases) {
    test(`${c.what}`, async ({ ui, page }) => {
      const folder = tempFolder(c.name, c.fill);
      try {
        c.change?.(folder.dir);
        await readyWithImage(ui);
        await expectRefused(ui, page, folder.dir, c.said);
      } finally {
        folder.remove();
      }
    });
  }

  test('more than the browser lets the app store: refused by the storage preflight before the copy starts', async ({
    ui,
    page,
  }) => {
    // a package that lists, beside the tiny one's files, a file of 20 TB (no browser lets a site store that)
    const folder = tempFolder('too-big');
    try {
      const path = join(folder.dir, 'manifest.json');
      const m = JSON.parse(readFileSync(path, 'utf8')) as typeof manifest;
      m.files.push({ path: 'extra/huge.bin', bytes: 20e12, sha256: '0'.repeat(64) });
      writeFileSync(path, JSON.stringify(m));
      await readyWithImage(ui);
      await expectRefused(ui, page, folder.dir, /Not enough storage for this model: it needs 20\.0 TB more/);
    } finally {
      folder.remove();
    }
  });

  test('storage full mid-copy', async ({ ui, page, baseURL }) => {
    const folder = tempFolder('quota-full');
    try {
      await readyWithImage(ui);
      // The browser's real quota cut to half the package above what is stored: writes fail part
      // way (the quota override does not show in storage.estimate(), so the preflight passes).
      const cdp = await page.context().newCDPSession(page);
      const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
      await cdp.send('Storage.overrideQuotaForOrigin', {
        origin: new URL(baseURL!).origin,
        quotaSize: usage + Math.floor(packageBytes / 2),
      });
      await expectRefused(
        ui,
        page,
        folder.dir,
        /The browser's storage filled up while quota-full\/\S+ was copied\. Free disk space or clear the model cache, then open the folder again/,
      );
    } finally {
      folder.remove();
    }
  });
});
