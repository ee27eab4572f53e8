/**
 * Whether this page installs the test API (`window.__editmgt`, src/app/testApi.ts): only for
 * end-to-end tests and diagnostics, never by default. Either the page is opened with `?test`, or
 * the test harness sets `window.__EDITMGT_TEST__ = true` before the app's script runs (the e2e
 * fixtures do, for every page they open).
 */
export function testApiWanted(search: string, flag: unknown): boolean {
  return flag === true || new URLSearchParams(search).has('test');
}

declare global {
  interface Window {
    __EDITMGT_TEST__?: boolean;
  }
}
