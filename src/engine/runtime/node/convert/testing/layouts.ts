/**
 * The tiny checkpoint in every hub layout, made by the exporter's own builder
 * (`python -m editmgt_export layouts`), for the reader's and the converter's tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../../testing/testModel';

const EXPORT = join(REPO, 'tools/export');
const PYTHON = join(EXPORT, '.venv/bin/python');

/**
 * Writes the layouts into `out` (one folder each). Returns the error a test should throw when the
 * exporter's Python is missing or fails (never a skip), or undefined.
 */
export function makeLayouts(out: string): Error | undefined {
  if (!existsSync(PYTHON))
    return new Error(
      `the exporter's Python is missing (${PYTHON}): run npm run export:setup, then this test again`,
    );
  try {
    execFileSync(PYTHON, ['-m', 'editmgt_export', 'layouts', '--out', out], { cwd: EXPORT, stdio: 'pipe' });
    return undefined;
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '')
      .trim()
      .split('\n')
      .at(-1);
    return new Error(`python -m editmgt_export layouts failed: ${stderr || (err as Error).message}`);
  }
}
