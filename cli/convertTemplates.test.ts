/**
 * `npm run convert` without --templates on EditMGT's published checkpoint layout (headers only:
 * src/engine/runtime/node/convert/__fixtures__/published_headers.py, the weights' data a hole):
 * the shipped templates for that config (templates/editmgt-512) hold q4 only, so another dtype is
 * refused with one message naming the dtypes they have, before anything is written. Needs the
 * exporter's venv (tools/export/.venv); without it the test fails saying so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { main, TEMPLATES_ROOT } from './convert';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const EXPORT = join(REPO, 'tools/export');
const PYTHON = join(EXPORT, '.venv/bin/python');
const FIXTURE = join(REPO, 'src/engine/runtime/node/convert/__fixtures__/published_headers.py');

let root: string;
let published: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'editmgt-convert-templates-'));
  published = join(root, 'published');
  if (!existsSync(PYTHON))
    throw new Error(
      `the exporter's Python is missing (${PYTHON}): run npm run export:setup, then this test again`,
    );
  execFileSync(PYTHON, [FIXTURE, published], { cwd: EXPORT, stdio: 'pipe' });
}, 300_000);
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(root, { recursive: true, force: true });
});

it('a dtype the shipped templates for the published config lack is refused naming theirs, and nothing is written', async () => {
  const errors: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
  const out = join(root, 'pkg');
  expect(await main(['--source', published, '--dtype', 'q8', '--out', out, '--quiet'])).toBe(2);
  expect(errors.join('\n')).toBe(
    `convert: the shipped templates for ${published}'s config (${join(TEMPLATES_ROOT, 'editmgt-512')}) have q4 only, not q8: convert with --dtype q4, or make them with \`python -m editmgt_export template --source <checkpoint> --dtype q8 --out <folder>\` and pass --templates <folder>`,
  );
  expect(readdirSync(root)).toEqual(['published']);
}, 120_000);
