import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateManifest } from '../../engine/manifest';
import { checkModelUrl, downloadSizes } from './modelUrl';

const page = 'http://127.0.0.1:4173/?model=x';

describe('checkModelUrl', () => {
  it('resolves relative paths against the page, not the engine script folder', () => {
    expect(checkModelUrl('models/tiny-random', page)).toEqual({
      ok: true,
      url: '/models/tiny-random/',
      foreignHost: null,
    });
    expect(checkModelUrl('./models/shapes/', 'http://127.0.0.1:4173/app/')).toEqual({
      ok: true,
      url: '/app/models/shapes/',
      foreignHost: null,
    });
    expect(checkModelUrl(' /models/shapes ', page)).toEqual({
      ok: true,
      url: '/models/shapes/',
      foreignHost: null,
    });
  });

  it('keeps a full URL on this site as a path', () => {
    expect(checkModelUrl('http://127.0.0.1:4173/models/shapes/', page)).toEqual({
      ok: true,
      url: '/models/shapes/',
      foreignHost: null,
    });
  });

  it('names the host of a package on another site', () => {
    expect(checkModelUrl('https://models.example.org:8443/editmgt', page)).toEqual({
      ok: true,
      url: 'https://models.example.org:8443/editmgt/',
      foreignHost: 'models.example.org:8443',
    });
    // Another port of the same machine is another origin.
    expect(checkModelUrl('http://localhost:4173/models/x/', page)).toMatchObject({
      ok: true,
      foreignHost: 'localhost:4173',
    });
  });

  it('refuses scripts, data, blobs and file:// with a message that says why', () => {
    for (const bad of [
      'javascript:alert(1)',
      'JavaScript:alert(1)//',
      'data:application/json,{}',
      'blob:http://127.0.0.1:4173/x',
    ]) {
      const r = checkModelUrl(bad, page);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/http:\/\/ or https:\/\/ only; a (javascript|data|blob):/);
    }
    const file = checkModelUrl('file:///home/me/models/editmgt/', page);
    expect(file.ok).toBe(false);
    if (!file.ok) expect(file.message).toMatch(/file:\/\/.*Serve the folder over HTTP/);
    expect(checkModelUrl('   ', page).ok).toBe(false);
    expect(checkModelUrl('https://user:pw@example.org/m/', page).ok).toBe(false);
  });
});

describe('downloadSizes', () => {
  it('adds up each precision’s graphs, external data and tokenizers once', () => {
    const manifest = validateManifest(
      JSON.parse(readFileSync('public/models/tiny-random/manifest.json', 'utf8')),
    );
    const sizes = downloadSizes(manifest);
    expect(sizes.length).toBeGreaterThan(0);
    for (const { dtype, bytes } of sizes) {
      const d = manifest.dtypes[dtype as keyof typeof manifest.dtypes]!;
      const paths = new Set([
        ...Object.values(d.graphs).flatMap((g) => [g.file, ...(g.external_data ?? [])]),
        ...manifest.tokenizers.clip.files,
        ...manifest.tokenizers.llm.files,
      ]);
      const expected = manifest.files.filter((f) => paths.has(f.path)).reduce((s, f) => s + f.bytes, 0);
      expect(bytes).toBe(expected);
    }
  });
});

describe('checkModelUrl folders', () => {
  it('makes model URLs folders', () => {
    expect(checkModelUrl(' https://x.org/m ', page)).toMatchObject({ ok: true, url: 'https://x.org/m/' });
    expect(checkModelUrl('/models/shapes/', page)).toMatchObject({ ok: true, url: '/models/shapes/' });
  });
});
