import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Editor, validateManifest } from '../../engine/index';
import type { Dtype, FileSource } from '../../engine/index';
import { checkModelUrl, downloadSizes, hubEndpointFor, modelFieldText } from './modelUrl';

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
  const dir = 'public/models/tiny-random';
  const manifest = validateManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));

  it('is, per precision, the bytes of the files the engine’s opener fetches (token table included)', async () => {
    const sizes = downloadSizes(manifest);
    expect(sizes.map((s) => s.dtype).sort()).toEqual(Object.keys(manifest.dtypes).sort());
    expect(manifest.dtypes.fp32?.graphs.text_llm.token_table).toBeDefined();
    for (const { dtype, bytes } of sizes) {
      // The opener itself names the files; their sizes on disk are what a download fetches.
      const asked = new Set<string>();
      const stop = new Error('prepared');
      const files: FileSource<Uint8Array> = {
        manifest: () =>
          Promise.resolve({ where: dir, body: new Uint8Array(readFileSync(join(dir, 'manifest.json'))) }),
        async prepare(list) {
          for (const f of list) asked.add(f.path);
          throw stop;
        },
        read: () => Promise.reject(new Error('not read in this test')),
        graphData: () => Promise.reject(new Error('not read in this test')),
      };
      await expect(
        Editor.open(files, {
          device: 'cpu',
          dtype: dtype as Dtype,
          runtime: () => Promise.reject(new Error('no runtime in this test')),
          makeEncoder: () => {
            throw new Error('no tokenizer in this test');
          },
        }),
      ).rejects.toBe(stop);
      const onDisk = [...asked].reduce((sum, p) => sum + statSync(join(dir, p)).size, 0);
      expect(bytes, dtype).toBe(onDisk);
    }
  });
});

describe('checkModelUrl folders', () => {
  it('makes model URLs folders', () => {
    expect(checkModelUrl(' https://x.org/m ', page)).toMatchObject({ ok: true, url: 'https://x.org/m/' });
    expect(checkModelUrl('/models/shapes/', page)).toMatchObject({ ok: true, url: '/models/shapes/' });
  });
});

describe('hf: links', () => {
  it('are read as a repository and revision on the hub, which is the host named', () => {
    expect(checkModelUrl(' hf:WeiChow/EditMGT ', page)).toEqual({
      ok: true,
      url: 'hf:WeiChow/EditMGT@main',
      foreignHost: 'huggingface.co',
      hub: { repo: 'WeiChow/EditMGT', revision: 'main', endpoint: 'https://huggingface.co' },
    });
    const pinned = checkModelUrl('hf:owner/repo@v1.0', page);
    expect(pinned.ok && 'hub' in pinned && pinned.hub.revision).toBe('v1.0');
  });

  it('that are malformed are refused with the form expected', () => {
    expect(checkModelUrl('hf:EditMGT', page)).toEqual({
      ok: false,
      message: '"hf:EditMGT": expected hf:owner/repo[@revision], e.g. hf:WeiChow/EditMGT',
    });
    expect(checkModelUrl('hf:a/b@', page)).toMatchObject({ ok: false });
    expect(checkModelUrl('hf:a/b@x?token=1', page)).toMatchObject({ ok: false });
  });

  it('go to huggingface.co unless both the page and ?hub= are on this machine', () => {
    const local = 'http://127.0.0.1:9999';
    expect(hubEndpointFor(`http://127.0.0.1:4173/?hub=${local}`)).toBe(local);
    expect(hubEndpointFor(`http://localhost:4173/?hub=http://localhost:5000/x`)).toBe(
      'http://localhost:5000',
    );
    // a deployed page ignores it, so a link cannot send requests (or a token) elsewhere
    expect(hubEndpointFor(`https://editor.example.org/?hub=${local}`)).toBe('https://huggingface.co');
    expect(hubEndpointFor('http://127.0.0.1:4173/?hub=https://evil.example')).toBe('https://huggingface.co');
    expect(hubEndpointFor('http://127.0.0.1:4173/?hub=http://user:pw@127.0.0.1:1')).toBe(
      'https://huggingface.co',
    );
    expect(hubEndpointFor('http://127.0.0.1:4173/?hub=nonsense')).toBe('https://huggingface.co');
    expect(checkModelUrl('hf:o/r', `http://127.0.0.1:4173/?hub=${local}`)).toMatchObject({
      foreignHost: '127.0.0.1:9999',
      hub: { endpoint: local },
    });
  });

  it('show a hub package as the hf: text pinned to its commit, on the hub the page reads', () => {
    const commit = 'a'.repeat(40);
    expect(modelFieldText(`https://huggingface.co/WeiChow/EditMGT/resolve/${commit}/`, page)).toBe(
      `hf:WeiChow/EditMGT@${commit}`,
    );
    const local = 'http://127.0.0.1:9999';
    expect(modelFieldText(`${local}/o/r/resolve/${commit}/`, `http://127.0.0.1:4173/?hub=${local}`)).toBe(
      `hf:o/r@${commit}`,
    );
    // another host, a branch instead of a commit, a file, a plain package: the address itself
    for (const url of [
      `https://evil.example/o/r/resolve/${commit}/`,
      'https://huggingface.co/o/r/resolve/main/',
      `https://huggingface.co/o/r/resolve/${commit}/manifest.json`,
      '/models/tiny-random/',
    ])
      expect(modelFieldText(url, page)).toBe(url);
  });
});
