import { defineConfig } from '@playwright/test';

const port = Number(process.env.E2E_PORT ?? 4179);
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Flags for Debian's Chromium in a headless CI box; WebGPU runs on SwiftShader there.
const args = [
  '--headless=new',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];

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
