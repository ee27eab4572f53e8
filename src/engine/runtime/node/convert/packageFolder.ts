/**
 * The converter's output on node: a `PackageWriter` that writes into a temporary folder beside
 * the package's (`.<name>.converting-<random>`), renamed into place by `commit()` once the whole
 * package is written, or removed by `discard()`; so no half-written folder is ever at the
 * package's path. An existing package at that path is replaced only on commit.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { PackageWriter } from '../../../convert/applyWeightMap';

export const READ_BLOCK_BYTES = 4 << 20;

export interface PackageFolder extends PackageWriter {
  /** the temporary folder being written */
  readonly tempDir: string;
  /** the package's final path */
  readonly outDir: string;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

export async function createPackageFolder(out: string): Promise<PackageFolder> {
  const outDir = resolve(out);
  await mkdir(dirname(outDir), { recursive: true });
  const tempDir = await mkdtemp(join(dirname(outDir), `.${basename(outDir)}.converting-`));
  const handles = new Map<string, FileHandle>();
  const full = (path: string) => {
    if (path.split('/').some((p) => p === '..' || p === '') || path.startsWith('/'))
      throw new Error(`package path ${JSON.stringify(path)} leaves the package folder`);
    return join(tempDir, ...path.split('/'));
  };
  const closeAll = async () => {
    const hs = [...handles.values()];
    handles.clear();
    for (const h of hs) await h.close().catch(() => undefined);
  };
  return {
    tempDir,
    outDir,
    async writeFile(path, bytes) {
      await mkdir(dirname(full(path)), { recursive: true });
      await writeFile(full(path), bytes, { flag: 'wx' });
    },
    async createFile(path, size) {
      await mkdir(dirname(full(path)), { recursive: true });
      const h = await open(full(path), 'wx');
      try {
        await h.truncate(size);
      } finally {
        await h.close();
      }
    },
    async writeAt(path, offset, bytes) {
      let h = handles.get(path);
      if (!h) {
        if (handles.size >= 16) await closeAll();
        h = await open(full(path), 'r+');
        handles.set(path, h);
      }
      let at = 0;
      while (at < bytes.length) {
        const { bytesWritten } = await h.write(bytes, at, bytes.length - at, offset + at);
        at += bytesWritten;
      }
    },
    async *readBlocks(path, signal) {
      await closeAll();
      const h = await open(full(path), 'r');
      try {
        const buf = new Uint8Array(READ_BLOCK_BYTES);
        for (let pos = 0; ;) {
          signal?.throwIfAborted();
          const { bytesRead } = await h.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) return;
          yield buf.subarray(0, bytesRead);
          pos += bytesRead;
        }
      } finally {
        await h.close();
      }
    },
    async sha256(path, signal) {
      await closeAll();
      const hash = createHash('sha256');
      const h = await open(full(path), 'r');
      let bytes = 0;
      try {
        const buf = new Uint8Array(READ_BLOCK_BYTES);
        for (;;) {
          signal?.throwIfAborted();
          const { bytesRead } = await h.read(buf, 0, buf.length, bytes);
          if (bytesRead === 0) break;
          hash.update(buf.subarray(0, bytesRead));
          bytes += bytesRead;
        }
      } finally {
        await h.close();
      }
      return { sha256: hash.digest('hex'), bytes };
    },
    async size(path) {
      return (await stat(full(path))).size;
    },
    async commit() {
      await closeAll();
      await chmod(tempDir, 0o777 & ~process.umask()); // mkdtemp's folder is private; a server must read the package
      const old = await stat(outDir).catch(() => undefined);
      if (old) {
        const aside = `${tempDir}.old`;
        await rename(outDir, aside);
        await rename(tempDir, outDir);
        await rm(aside, { recursive: true, force: true });
      } else await rename(tempDir, outDir);
    },
    async discard() {
      await closeAll();
      await rm(tempDir, { recursive: true, force: true });
    },
  };
}
