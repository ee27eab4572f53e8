import { describe, expect, it } from 'vitest';
import type { Manifest } from './manifest';
import { modelDomain } from './domain';

const base = { files: [{ path: 'examples/a.png', bytes: 10, sha256: 'aa' }] } as unknown as Manifest;

describe('modelDomain', () => {
  it('is null without a domain', () => {
    expect(modelDomain(base, (p) => p)).toBeNull();
  });

  it('resolves listed examples with their checksums and leaves unlisted ones out', () => {
    const m = {
      ...base,
      domain: {
        description: 'flat shapes',
        narrow: true,
        examples: [
          { path: 'examples/a.png', instruction: 'remove the square' },
          { path: 'examples/missing.png' },
        ],
      },
    } as Manifest;
    expect(modelDomain(m, (p) => `https://h/m/${p}`)).toEqual({
      description: 'flat shapes',
      narrow: true,
      outside: null,
      examples: [{ url: 'https://h/m/examples/a.png', sha256: 'aa', instruction: 'remove the square' }],
    });
  });
});
