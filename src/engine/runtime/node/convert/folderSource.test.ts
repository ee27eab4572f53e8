/** The local checkpoint folder source, on real files in a temporary folder. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointSource } from './checkpointSource';
import { folderSource } from './folderSource';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'editmgt-folder-'));
  mkdirSync(join(root, 'ckpt/vqvae'), { recursive: true });
  mkdirSync(join(root, 'ckpt/.cache'));
  mkdirSync(join(root, 'blobs'));
  writeFileSync(join(root, 'ckpt/vqvae/config.json'), '0123456789');
  writeFileSync(join(root, 'ckpt/.cache/x'), 'hidden');
  writeFileSync(join(root, 'blobs/abc'), 'linked bytes');
  // the hub's cache lays a snapshot out as links to blobs
  symlinkSync(join(root, 'blobs/abc'), join(root, 'ckpt/vqvae/model.safetensors'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('folder source', () => {
  it('lists files recursively (links followed, dot folders left out) and reads byte ranges', async () => {
    const src = await checkpointSource(join(root, 'ckpt'));
    expect(await src.list()).toEqual(['vqvae/config.json', 'vqvae/model.safetensors']);
    const f = await src.open('vqvae/config.json');
    expect(f.size).toBe(10);
    expect(Buffer.from(await f.read(3, 7)).toString()).toBe('3456');
    expect(Buffer.from(await (await src.open('vqvae/model.safetensors')).read(0, 6)).toString()).toBe(
      'linked',
    );
    await expect(f.read(8, 11)).rejects.toThrow(
      `${join(root, 'ckpt/vqvae/config.json')}: cannot read bytes [8, 11) of a 10-byte file`,
    );
  });

  it('a missing folder or file is named', async () => {
    await expect(folderSource(join(root, 'nope')).list()).rejects.toThrow(
      `checkpoint folder ${join(root, 'nope')} does not exist`,
    );
    await expect(folderSource(join(root, 'ckpt')).open('vqvae/other.json')).rejects.toThrow(
      `${join(root, 'ckpt')} has no file vqvae/other.json`,
    );
  });

  it('an aborted read is not started', async () => {
    const f = await folderSource(join(root, 'ckpt')).open('vqvae/config.json');
    const ac = new AbortController();
    ac.abort(new Error('stopped'));
    await expect(f.read(0, 4, ac.signal)).rejects.toThrow('stopped');
  });
});
