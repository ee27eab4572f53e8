/**
 * The one place the project's Chromium is named: Debian's /usr/bin/chromium (or CHROMIUM_PATH),
 * driven by playwright-core for the end-to-end tests and the benchmarks, with the flags a
 * headless CI box needs; WebGPU runs there on SwiftShader.
 */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];
