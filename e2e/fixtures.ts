/** Shared Playwright fixtures: the backend a project runs on, and a typed handle on the app. */
import { readFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  test as base,
  expect,
  type BrowserContext,
  type Download,
  type Locator,
  type Page,
} from '@playwright/test';
import type { AppSnapshot, TestApi } from '../src/app/testApi';

export type BackendChoice = 'webgpu' | 'wasm';
export type EditState = 'idle' | 'loading-model' | 'ready' | 'running' | 'done' | 'error';

/** Input images made by e2e/fixtures/make_images.mjs. */
export const images = join('e2e', 'fixtures', 'images');
export const imagePath = (name: string) => join(images, name);
/** The model the editor specs run: the tiny random-weight package, the quickest to load and run. */
export const TEST_MODEL_URL = '/models/tiny-random/';

const MIME: Record<string, string> = {
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  bmp: 'image/bmp',
  gif: 'image/gif',
  avif: 'image/avif',
};

export class AppPage {
  constructor(readonly page: Page) {}

  /**
   * Opens the app on the tiny bundled model (named in the link, so the specs do not depend on
   * which model is the default, and edits stay quick).
   */
  async open(): Promise<void> {
    await this.page.goto(`/?model=${encodeURIComponent(TEST_MODEL_URL)}`);
    await this.page.waitForFunction(() => window.__editmgt !== undefined);
  }

  /** Calls a method of the app's test API inside the page. */
  call<K extends keyof TestApi>(
    name: K,
    ...args: Parameters<TestApi[K]>
  ): Promise<Awaited<ReturnType<TestApi[K]>>> {
    return this.page.evaluate(
      ([n, a]) => (window.__editmgt![n as K] as (...x: unknown[]) => Promise<unknown>)(...(a as unknown[])),
      [name, args] as const,
    ) as Promise<Awaited<ReturnType<TestApi[K]>>>;
  }
}

/** The editor as a person uses it: the contract's test ids, plus a few conveniences. */
export class AppUi extends AppPage {
  readonly fileInput: Locator;
  readonly instruction: Locator;
  readonly runButton: Locator;
  readonly cancelButton: Locator;
  readonly stepCounter: Locator;
  readonly attentionToggle: Locator;
  readonly downloadButton: Locator;
  readonly error: Locator;
  readonly notice: Locator;
  readonly attentionMap: Locator;
  readonly scrubber: Locator;
  readonly historyItems: Locator;

  constructor(
    page: Page,
    readonly backendChoice: BackendChoice,
  ) {
    super(page);
    const id = (t: string) => page.getByTestId(t);
    this.fileInput = id('file-input');
    this.instruction = id('instruction');
    this.runButton = id('run');
    this.cancelButton = id('cancel');
    this.stepCounter = id('step-counter');
    this.attentionToggle = id('attention-toggle');
    this.downloadButton = id('download');
    this.error = id('error');
    this.notice = id('notice');
    this.attentionMap = id('attention-map');
    this.scrubber = id('step-scrubber');
    this.historyItems = id('history-item');
  }

  /**
   * Steps for test edits: few on WebGPU, where SwiftShader emulates the GPU on the CPU (seconds
   * per step), more on WASM.
   */
  get editSteps(): number {
    return this.backendChoice === 'webgpu' ? 3 : 8;
  }

  /** How long an edit may take in this project. */
  get editTimeout(): number {
    return this.backendChoice === 'webgpu' ? 300_000 : 120_000;
  }

  state(): Promise<string | null> {
    return this.page.locator('body').getAttribute('data-edit-state');
  }

  async expectState(state: EditState, timeout?: number): Promise<void> {
    await expect(this.page.locator('body')).toHaveAttribute('data-edit-state', state, { timeout });
  }

  snapshot(): Promise<AppSnapshot> {
    return this.call('snapshot');
  }

  /** Opens the app with this project's backend chosen in Settings and waits for the model. */
  async openReady(): Promise<void> {
    await this.open();
    await this.page.getByTestId('backend-select').selectOption(this.backendChoice);
    await expect
      .poll(async () => (await this.snapshot()).model?.backend, {
        timeout: 90_000,
        message: 'model loaded on the project backend',
      })
      .toBe(this.backendChoice);
    await this.expectState('ready');
  }

  async choose(name: string): Promise<void> {
    await this.fileInput.setInputFiles(imagePath(name));
  }

  private async sendFile(name: string, how: 'drop' | 'paste'): Promise<void> {
    const b64 = readFileSync(imagePath(name)).toString('base64');
    const type = MIME[name.split('.').pop() ?? ''] ?? '';
    await this.page.evaluate(
      ([b64, fileName, type, how]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], fileName, { type }));
        const target = document.querySelector('[data-testid="stage"]') ?? document.body;
        if (how === 'paste') {
          target.dispatchEvent(
            new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
          );
        } else {
          for (const t of ['dragenter', 'dragover', 'drop'])
            target.dispatchEvent(new DragEvent(t, { dataTransfer: data, bubbles: true, cancelable: true }));
        }
      },
      [b64, basename(name), type, how] as const,
    );
  }

  drop(name: string): Promise<void> {
    return this.sendFile(name, 'drop');
  }

  paste(name: string): Promise<void> {
    return this.sendFile(name, 'paste');
  }

  async expectImage(width: number, height: number): Promise<void> {
    await expect.poll(async () => (await this.snapshot()).image).toEqual({ width, height });
  }

  /** Types the instruction and presses Enter (which runs). */
  async edit(instruction: string): Promise<void> {
    await this.instruction.fill(instruction);
    await this.instruction.press('Enter');
  }

  async setSteps(steps: number): Promise<void> {
    await this.page.getByTestId('steps').fill(String(steps));
  }

  /** Waits for "N/N" and the done state; returns N. */
  /** Opens `photo` and starts an edit, then waits for its first frame; returns the image as it was. */
  async editUnderWay(photo = 'photo.jpg'): Promise<AppSnapshot['image']> {
    await this.choose(photo);
    await expect.poll(async () => (await this.snapshot()).image).not.toBeNull();
    const before = (await this.snapshot()).image;
    await this.setSteps(this.editSteps);
    await this.edit('make the sky purple');
    await expect
      .poll(async () => (await this.snapshot()).run?.frames ?? 0, { timeout: this.editTimeout })
      .toBeGreaterThanOrEqual(1);
    return before;
  }

  /**
   * After the GPU was lost mid-edit: the error names the GPU, the image is still `before`, the
   * model reopens on WebGPU (ready, not the lost one kept on show while it loads), and the edit
   * runs again to the end. Returns the error's text.
   */
  async expectGpuLossRecovered(before: AppSnapshot['image']): Promise<string> {
    await expect(this.error).toContainText(/GPU/);
    const said = (await this.error.textContent()) ?? '';
    expect((await this.snapshot()).image).toEqual(before);
    await expect
      .poll(async () => ((s) => `${s.modelStatus} on ${s.model?.backend}`)(await this.snapshot()), {
        timeout: 180_000,
      })
      .toBe('ready on webgpu');
    await expect(this.runButton).toBeEnabled();
    await this.runButton.click();
    expect(await this.waitForDone()).toBe(this.editSteps);
    expect((await this.snapshot()).image).toEqual(before);
    return said;
  }

  async waitForDone(): Promise<number> {
    // Stop at the first error rather than waiting out the timeout, and show its message. The
    // store's own state is read (not the body attribute, which follows it a frame later), so an
    // error cleared by the click that started this run is never mistaken for this run's.
    await expect
      .poll(async () => (await this.snapshot()).editState, { timeout: this.editTimeout, intervals: [250] })
      .toMatch(/^(done|error)$/);
    const settled = await this.snapshot();
    if (settled.editState === 'error') throw new Error(`the edit failed: ${settled.error?.message}`);
    await this.expectState('done');
    const steps = (await this.snapshot()).run!.steps;
    await expect(this.stepCounter).toHaveText(`${steps}/${steps}`);
    return steps;
  }

  /** A cheap fingerprint of the attention canvas pixels (changes when the map does). */
  attentionSignature(): Promise<string> {
    return this.attentionMap.evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let h = 2166136261;
      let sum = 0;
      for (let i = 0; i < d.length; i += 4) {
        h = Math.imul(h ^ (d[i] + 3 * d[i + 1] + 7 * d[i + 2]), 16777619);
        sum += d[i];
      }
      return `${c.width}x${c.height}:${sum}:${h >>> 0}`;
    });
  }

  async scrubTo(index: number): Promise<void> {
    await this.scrubber.fill(String(index));
  }

  async download(): Promise<Download> {
    const [download] = await Promise.all([this.page.waitForEvent('download'), this.downloadButton.click()]);
    return download;
  }

  /** Saves a screenshot of a main state to docs/screenshots/ (from the wasm project only, so each is written once). */
  async documentState(name: string): Promise<void> {
    if (this.backendChoice !== 'wasm') return;
    const dir = join('docs', 'screenshots');
    mkdirSync(dir, { recursive: true });
    await this.page.screenshot({ path: join(dir, `${name}.png`) });
  }
}

/** Width and height from a PNG's IHDR. */
export function pngSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.readUInt32BE(0) !== 0x89504e47 || bytes.toString('ascii', 12, 16) !== 'IHDR')
    throw new Error('not a PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Every page of `context` installs the app's test API (it is off in a plain page; see src/app/testApiFlag.ts). */
export async function enableTestApi(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    window.__EDITMGT_TEST__ = true;
  });
}

export const test = base.extend<{ backendChoice: BackendChoice; editor: AppPage; ui: AppUi }>({
  backendChoice: ['wasm', { option: true }],
  context: async ({ context }, use) => {
    await enableTestApi(context);
    await use(context);
  },
  editor: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await use(new AppPage(page));
    expect(errors, 'uncaught page errors').toEqual([]);
  },
  ui: async ({ page, backendChoice }, use) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await use(new AppUi(page, backendChoice));
    expect(errors, 'uncaught page errors').toEqual([]);
  },
});

export { expect };
