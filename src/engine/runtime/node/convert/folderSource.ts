/**
 * A checkpoint folder on the local disk as a `CheckpointSource`: files listed recursively (regular
 * files only; symbolic links followed, as the hub's cache lays snapshots out with them), each read
 * by byte range with positioned reads, so only the bytes asked for are held.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CheckpointError, checkRange } from '../../../convert/byteSource';
import type { ByteSource, CheckpointSource } from '../../../convert/byteSource';

async function listFiles(root: string, rel: string, out: string[]): Promise<void> {
  for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue; // .git, .cache and the like are no part of a checkpoint
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    const st = entry.isSymbolicLink() ? await stat(join(root, path)).catch(() => undefined) : entry;
    if (st?.isDirectory()) await listFiles(root, path, out);
    else if (st?.isFile()) out.push(path);
  }
}

export function folderSource(dir: string): CheckpointSource {
  const root = resolve(dir);
  let listed: Promise<string[]> | undefined;
  const source: CheckpointSource = {
    name: root,
    list() {
      listed ??= (async () => {
        const st = await stat(root).catch(() => undefined);
        if (!st?.isDirectory()) throw new CheckpointError(`checkpoint folder ${root} does not exist`);
        const out: string[] = [];
        await listFiles(root, '', out);
        return out.sort();
      })();
      return listed;
    },
    async open(path): Promise<ByteSource> {
      if (!(await source.list()).includes(path)) throw new CheckpointError(`${root} has no file ${path}`);
      const full = join(root, path);
      const { size } = await stat(full);
      const file = { name: full, size };
      return {
        ...file,
        async read(start, end, signal) {
          signal?.throwIfAborted();
          checkRange(file, start, end);
          const out = new Uint8Array(end - start);
          const fh = await open(full, 'r');
          try {
            let at = 0;
            while (at < out.byteLength) {
              const { bytesRead } = await fh.read(out, at, out.byteLength - at, start + at);
              if (bytesRead === 0)
                throw new CheckpointError(
                  `${full} ended at byte ${start + at} while reading [${start}, ${end}): it shrank`,
                );
              at += bytesRead;
            }
          } finally {
            await fh.close();
          }
          return out;
        },
      };
    },
  };
  return source;
}
