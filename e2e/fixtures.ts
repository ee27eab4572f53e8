/** Shared Playwright fixtures: the backend a project runs on, and a typed handle on the app. */
import { test as base, expect, type Page } from '@playwright/test';
import type { TestApi } from '../src/app/testApi';

export type BackendChoice = 'webgpu' | 'wasm';

export class EditorPage {
  constructor(readonly page: Page) {}

  async open(): Promise<void> {
    await this.page.goto('/');
    await this.page.waitForFunction(() => window.__editmgt !== undefined);
  }

  /** Calls a method of the app's test API inside the page. */
  call<K extends keyof TestApi>(name: K, ...args: Parameters<TestApi[K]>): Promise<Awaited<ReturnType<TestApi[K]>>> {
    return this.page.evaluate(
      ([n, a]) => (window.__editmgt![n as K] as (...x: unknown[]) => Promise<unknown>)(...(a as unknown[])),
      [name, args] as const,
    ) as Promise<Awaited<ReturnType<TestApi[K]>>>;
  }
}

export const test = base.extend<{ backendChoice: BackendChoice; editor: EditorPage }>({
  backendChoice: ['wasm', { option: true }],
  editor: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await use(new EditorPage(page));
    expect(errors, 'uncaught page errors').toEqual([]);
  },
});

export { expect };
