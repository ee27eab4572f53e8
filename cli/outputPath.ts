/**
 * The CLI's `--out`: checked before any work, so a bad path costs nothing (not after a long edit,
 * losing the result), and written atomically, so a failed write never leaves half a file where
 * a good one was. An input is never replaced unless asked for.
 */
import { closeSync, openSync, realpathSync, rmSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';

export const OUTPUT_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

export class OutputPathError extends Error {
  override name = 'OutputPathError';
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * @param out the `--out` value
 * @param inputs the files the edit reads (image, mask), which `out` may not be unless `overwrite`
 * @returns the path to write (a symlink's target, so the link stays a link)
 */
export function checkOutputPath(
  out: string,
  inputs: { flag: string; path: string }[],
  overwrite: boolean,
): string {
  const where = `--out ${out}`;
  if (out.endsWith('/') || out.endsWith(sep))
    throw new OutputPathError(`${where} is a folder; give a file name, e.g. ${join(out, 'result.png')}`);
  const existing = statOrUndefined(out);
  if (existing?.isDirectory())
    throw new OutputPathError(`${where} is a folder; give a file name, e.g. ${join(out, 'result.png')}`);
  if (existing && !existing.isFile()) throw new OutputPathError(`${where} is not a regular file`);
  const ext = extname(out).toLowerCase();
  if (!(OUTPUT_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new OutputPathError(`${where} must end in ${OUTPUT_EXTENSIONS.join(', ')} (it picks the format)`);
  }
  if (existing && !overwrite) {
    for (const input of inputs) {
      const s = statOrUndefined(input.path);
      if (s && s.dev === existing.dev && s.ino === existing.ino) {
        throw new OutputPathError(
          `${where} is the same file as ${input.flag} ${input.path}; choose another name, or pass --overwrite to replace it`,
        );
      }
    }
  }
  const target = existing ? realpathSync(out) : resolve(out);
  checkFolderWritable(dirname(target), where);
  return target;
}

/** Creates and removes a file in the folder: the one test that answers for permissions, read-only mounts and /proc alike. */
function checkFolderWritable(folder: string, where: string): void {
  const s = statOrUndefined(folder);
  if (!s) throw new OutputPathError(`the folder for ${where} does not exist (${folder})`);
  if (!s.isDirectory()) throw new OutputPathError(`the folder for ${where} is not a folder (${folder})`);
  const probe = join(folder, `.editmgt-write-test-${process.pid}-${Date.now()}`);
  try {
    closeSync(openSync(probe, 'wx'));
    rmSync(probe, { force: true });
  } catch (err) {
    throw new OutputPathError(
      `cannot write in the folder for ${where} (${folder}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}
