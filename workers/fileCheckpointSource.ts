/**
 * A checkpoint folder chosen or dropped on the page, as the converter's `CheckpointSource`: the
 * page hands over the folder's `File`s (handles, not bytes), and each range the converter asks for
 * is read as a slice of its file, so only the bytes asked for are held. A file that changed or
 * went away after it was chosen cannot be read any more (the browser refuses the read); that is
 * reported naming the file, with what to do.
 */
import { CheckpointError, checkRange } from '../src/engine/internal';
import type { ByteSource, CheckpointSource } from '../src/engine/internal';

/** A file of the folder, by its path inside the folder ("vqvae/config.json"). */
export interface SourceFile {
  path: string;
  file: File;
}

function unreadable(where: string, err: unknown): CheckpointError {
  return new CheckpointError(
    `${where} could not be read (${(err as Error).message || String(err)}); it changed or was moved after the folder was chosen. Choose the folder again.`,
  );
}

export function fileCheckpointSource(name: string, files: readonly SourceFile[]): CheckpointSource {
  const byPath = new Map(files.map((f) => [f.path, f.file]));
  const listed = [...byPath.keys()].sort();
  return {
    name,
    async list() {
      return listed;
    },
    async open(path): Promise<ByteSource> {
      const file = byPath.get(path);
      if (!file) throw new CheckpointError(`${name} has no file ${path}`);
      const info = { name: `${name}/${path}`, size: file.size };
      return {
        ...info,
        async read(start, end, signal) {
          signal?.throwIfAborted();
          checkRange(info, start, end);
          let bytes: Uint8Array;
          try {
            bytes = new Uint8Array(await file.slice(start, end).arrayBuffer());
          } catch (err) {
            throw unreadable(info.name, err);
          }
          if (bytes.byteLength !== end - start)
            throw unreadable(info.name, new Error(`${bytes.byteLength} of ${end - start} bytes came back`));
          return bytes;
        },
      };
    },
  };
}
