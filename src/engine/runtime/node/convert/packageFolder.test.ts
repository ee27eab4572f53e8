/**
 * The node package writer's own SHA-256 (node's hasher, what the manifest's digests use on node)
 * equals the converter's portable streamed digest of the same file read back in blocks, for a
 * file of several read blocks and an odd size, and for an empty file.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256OfBlocks } from '../../../convert/digest';
import { createPackageFolder, READ_BLOCK_BYTES } from './packageFolder';

const root = mkdtempSync(join(tmpdir(), 'editmgt-package-folder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('createPackageFolder', () => {
  it('sha256 gives the streamed digest and the size of a written file', async () => {
    const folder = await createPackageFolder(join(root, 'pkg'));
    try {
      const size = 2 * READ_BLOCK_BYTES + 12_345;
      await folder.createFile('q4/g.onnx.data', size);
      const piece = Uint8Array.from({ length: 3_000_001 }, (_, i) => (i * 7919) % 251);
      await folder.writeAt('q4/g.onnx.data', 1_000_003, piece);
      await folder.writeAt('q4/g.onnx.data', size - 5, piece.subarray(0, 5));
      await folder.writeFile('empty.json', new Uint8Array(0));
      for (const [path, bytes] of [
        ['q4/g.onnx.data', size],
        ['empty.json', 0],
      ] as const) {
        const own = await folder.sha256!(path);
        expect(own).toEqual({ sha256: await sha256OfBlocks(folder.readBlocks(path)), bytes });
      }
      expect((await folder.sha256!('empty.json')).sha256).toBe(
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      );
    } finally {
      await folder.discard();
    }
  });
});
