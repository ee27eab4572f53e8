/**
 * The web `fromPretrained` refuses what no page could open before it touches onnxruntime-web or
 * the network: the same check, and the same message, as node's and the CLI's.
 */
import { beforeAll, describe, expect, it } from 'vitest';

type WebEntry = typeof import('./index');
let EditMGT: WebEntry['EditMGT'];

beforeAll(async () => {
  // the entry reads the page's globals at import; node has no `self`
  (globalThis as { self?: unknown }).self ??= globalThis;
  ({ EditMGT } = await import('./index'));
});

describe('web EditMGT.fromPretrained arguments', () => {
  for (const bad of ['', '   ', undefined, 42]) {
    it(`refuses ${JSON.stringify(bad) ?? 'undefined'} as the package URL`, async () => {
      const got = await EditMGT.fromPretrained(bad as string).then(
        () => null,
        (e: unknown) => e as { code?: string; message?: string },
      );
      expect(got?.code).toBe('bad-settings');
      expect(got?.message).toMatch(
        /fromPretrained needs a model package: the URL of the folder that holds manifest.json/,
      );
    });
  }
});
