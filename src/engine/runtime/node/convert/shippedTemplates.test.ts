/**
 * The shipped templates (templates/tiny-random) are what the exporter makes now for the tiny
 * checkpoint's config: `python -m editmgt_export template` run again gives every file byte for
 * byte (the manifest's `source`, which names the checkpoint folder the templates were made from,
 * aside). When the exporter's graphs change, this fails and says how to remake them. Needs the
 * exporter's venv (tools/export/.venv); without it the test fails and says how to make it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../../../..', import.meta.url));
const EXPORT = join(REPO, 'tools/export');
const PYTHON = join(EXPORT, '.venv/bin/python');
const SHIPPED = join(REPO, 'templates/tiny-random');
/** how templates/tiny-random is made (tiny.py: TINY_RESOLUTION, TINY_CHUNK_BYTES) */
const TINY_TEMPLATE_ARGS = [
  '--dtype',
  'fp32,fp16,q4,q4f16,q8',
  '--resolution',
  '64',
  '--chunk-bytes',
  '524288',
];

const root = mkdtempSync(join(tmpdir(), 'editmgt-templates-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function filesUnder(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true })
    .flatMap((e) => {
      const p = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() ? filesUnder(dir, p) : [p];
    })
    .sort();
}

it('templates/tiny-random is what the exporter makes now', () => {
  if (!existsSync(PYTHON))
    throw new Error(
      `the exporter's Python is missing (${PYTHON}): run npm run export:setup, then this test again`,
    );
  const ckpt = join(root, 'ckpt');
  const out = join(root, 'templates');
  const run = (args: string[]) =>
    execFileSync(PYTHON, ['-m', 'editmgt_export', ...args], { cwd: EXPORT, stdio: 'pipe' });
  run(['layouts', '--out', ckpt]);
  run(['template', '--source', join(ckpt, 'single'), ...TINY_TEMPLATE_ARGS, '--out', out]);
  const files = filesUnder(out);
  expect(filesUnder(SHIPPED)).toEqual(files);
  const withoutSource = (dir: string) => {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    delete m['source'];
    return m;
  };
  expect(withoutSource(out)).toEqual(withoutSource(SHIPPED));
  const stale = files.filter(
    (f) => f !== 'manifest.json' && !readFileSync(join(out, f)).equals(readFileSync(join(SHIPPED, f))),
  );
  expect(
    stale,
    `remake them: cd tools/export && .venv/bin/python -m editmgt_export template --source <tiny checkpoint> ${TINY_TEMPLATE_ARGS.join(' ')} --out ../../templates/tiny-random`,
  ).toEqual([]);
}, 600_000);
