import { defineConfig } from '@playwright/test';
import { CHROMIUM as executablePath, CHROMIUM_ARGS as args } from './scripts/chromium';

const port = Number(process.env.E2E_PORT ?? 4179);
// E2E_DIST and E2E_RESULTS let two runs side by side (each its own build and port) keep apart.
const dist = process.env.E2E_DIST ?? 'dist';
const results = process.env.E2E_RESULTS ?? 'test-results';

export default defineConfig({
  testDir: 'e2e',
  outputDir: results,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  reporter: [['list'], ['json', { outputFile: `${results}/e2e.json` }]],
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
    command: `npx vite preview --host 127.0.0.1 --port ${port} --strictPort --outDir ${dist}`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
