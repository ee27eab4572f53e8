import { defineConfig } from '@playwright/test';
import { CHROMIUM as executablePath, CHROMIUM_ARGS as args } from './scripts/chromium';

const port = Number(process.env.E2E_PORT ?? 4179);

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: { executablePath, args },
    viewport: { width: 1280, height: 800 },
  },
  projects: [
    // Tests tagged @webgpu or @wasm belong to one provider's project only; the rest run in both.
    { name: 'webgpu', grepInvert: /@wasm\b/, use: { backendChoice: 'webgpu' } as never },
    { name: 'wasm', grepInvert: /@webgpu\b/, use: { backendChoice: 'wasm' } as never },
  ],
  webServer: {
    command: `npx vite preview --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
