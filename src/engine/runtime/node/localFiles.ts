/**
 * Bounded local files for the CLI: stat'ed before they are read (no device files, no file larger
 * than its cap), and written through a temporary file so readers never see half of one.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

// the caps are the engine's, shared with the browser's worker
import { formatBytes } from '../../manifest';

export { formatBytes, MAX_MANIFEST_BYTES, MAX_TOKENIZER_BYTES } from '../../manifest';

/** A file or URL that cannot be read within its bounds; the message names it. */
export class ReadError extends Error {
  override name = 'ReadError';
}

/** Reads a local regular file of at most `max` bytes; refuses devices, folders and larger files before reading. */
export function readLocalFile(path: string, max: number, what: string): Buffer {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ReadError(`cannot read the ${what} ${path}: no such file`);
  }
  if (!st.isFile()) throw new ReadError(`the ${what} ${path} is not a regular file`);
  if (st.size > max)
    throw new ReadError(`the ${what} ${path} is ${formatBytes(st.size)}; the limit is ${formatBytes(max)}`);
  return readFileSync(path);
}

/** Temporary files named `<name>.<pid>-<hex>.part`, so a killed process's leftovers can be told apart. */
export const tempName = (path: string) => `${path}.${process.pid}-${randomBytes(4).toString('hex')}.part`;

/** Writes by way of a temporary file in the same folder, so readers never see half a file. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, bytes, { flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
