/**
 * The shapes model through the TypeScript converter: its checkpoint, read back from the shipped
 * package (`python -m shapesworld.recover`: every weight of the fp32 graphs, put back through
 * the weight maps), converted by `convertFolder` (what `npm run convert` runs) with the shipped
 * templates (templates/shapes) and nothing else, is public/models/shapes: every file byte for
 * byte and no other file (q8's and q4's VQ graphs are fp32's, written once, as the templates'
 * manifest shares them; the domain's example pictures are copied from the templates), the
 * manifest too once `generator` and `codebook_colors` (within 1e-5) are set to the shipped ones
 * (the model's defaults, suggestions and domain come from the templates' manifest).
 * And templates/shapes are what the exporter makes now for that checkpoint
 * (`python -m shapesworld.package --templates`), every file byte for byte but the manifest's
 * `source`. Needs the exporter's venv (tools/export/.venv); without it the tests fail saying so.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parsePyJson, pyJsonText } from '../../../convert/pyJson';
import type { PyObject } from '../../../convert/pyJson';
import { convertFolder } from './convertFolder';

const REPO = fileURLToPath(new URL('../../../../..', import.meta.url));
const SHAPES = join(REPO, 'tools/shapes');
const PYTHON = join(REPO, 'tools/export/.venv/bin/python');
const SHIPPED = join(REPO, 'public/models/shapes');
const TEMPLATES = join(REPO, 'templates/shapes');
/** as in convert.test.ts: float32 patch means summed in another order, then rounded to 6 decimals */
const COLOR_TOLERANCE = 1e-5;

let root: string;
let ckpt: string;
let unavailable: Error | undefined;

function python(args: string[]): void {
  execFileSync(PYTHON, args, { cwd: SHAPES, stdio: 'pipe' });
}

function failure(what: string, err: unknown): Error {
  const stderr = String((err as { stderr?: Buffer }).stderr ?? '')
    .trim()
    .split('\n')
    .at(-1);
  return new Error(`${what} failed: ${stderr || (err as Error).message}`);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'editmgt-shapes-'));
  ckpt = join(root, 'checkpoint');
  if (!existsSync(PYTHON)) {
    unavailable = new Error(
      `the exporter's Python is missing (${PYTHON}): run npm run export:setup, then this test again`,
    );
    return;
  }
  try {
    python(['-m', 'shapesworld.recover', '--out', ckpt]);
  } catch (err) {
    unavailable = failure('python -m shapesworld.recover', err);
  }
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function need(): void {
  if (unavailable) throw unavailable;
}

function manifestOf(dir: string): PyObject {
  return parsePyJson(readFileSync(join(dir, 'manifest.json'), 'utf8'), dir) as PyObject;
}

function filesUnder(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true })
    .flatMap((e) => {
      const p = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() ? filesUnder(dir, p) : [p];
    })
    .sort();
}

it('the shapes checkpoint converts to public/models/shapes', async () => {
  need();
  const theirs = manifestOf(SHIPPED);
  const out = join(root, 'package');
  await convertFolder({
    source: ckpt,
    templates: TEMPLATES,
    out,
    dtypes: ['fp32', 'q8', 'q4'],
    name: 'shapes',
    sourceId: (theirs.get('source') as PyObject).get('id') as string,
  });
  const ours = manifestOf(out);
  const listed = (m: PyObject) => (m.get('files') as PyObject[]).map((f) => f.get('path') as string);
  const files = listed(theirs);
  expect(listed(ours)).toEqual(files);
  // nothing else: no dtype's own copy of a shared graph
  expect(filesUnder(out)).toEqual([...files, 'manifest.json'].sort());
  const differing = files.filter((f) => !readFileSync(join(out, f)).equals(readFileSync(join(SHIPPED, f))));
  expect(differing).toEqual([]);

  const a = (ours.get('codebook_colors') as PyObject[]).flat() as unknown as { value: number }[];
  const b = (theirs.get('codebook_colors') as PyObject[]).flat() as unknown as { value: number }[];
  expect(a.length).toBe(b.length);
  expect(Math.max(...a.map((x, i) => Math.abs(x.value - b[i]!.value)))).toBeLessThanOrEqual(COLOR_TOLERANCE);
  ours.set('generator', theirs.get('generator')!);
  ours.set('codebook_colors', theirs.get('codebook_colors')!);
  // the source (training command and the checkpoint folder's content hash) included
  expect(pyJsonText(ours)).toBe(readFileSync(join(SHIPPED, 'manifest.json'), 'utf8'));
}, 300_000);

it('q8 alone gets the VQ graphs it shares with fp32, and the example pictures', async () => {
  need();
  const out = join(root, 'package-q8');
  await convertFolder({ source: ckpt, templates: TEMPLATES, out, dtypes: ['q8'], name: 'shapes' });
  const ours = manifestOf(out);
  expect([...(ours.get('dtypes') as PyObject).keys()]).toEqual(['q8']);
  const files = (ours.get('files') as PyObject[]).map((f) => f.get('path') as string);
  expect(filesUnder(out)).toEqual([...files, 'manifest.json'].sort());
  expect(files.filter((f) => f.startsWith('fp32/'))).toEqual([
    'fp32/vq_decode.onnx',
    'fp32/vq_decode.onnx.data',
    'fp32/vq_encode.onnx',
    'fp32/vq_encode.onnx.data',
  ]);
  expect(files.slice(-4)).toEqual([
    'examples/test_00001.png',
    'examples/test_00003.png',
    'examples/test_00005.png',
    'examples/test_00000.png',
  ]);
  expect(files.filter((f) => !readFileSync(join(out, f)).equals(readFileSync(join(SHIPPED, f))))).toEqual([]);
}, 300_000);

it('an example picture that is not the one the templates list is refused, leaving nothing', async () => {
  need();
  const templates = join(root, 'templates-changed');
  cpSync(TEMPLATES, templates, { recursive: true });
  const picture = join(templates, 'examples/test_00003.png');
  const bytes = readFileSync(picture);
  bytes[bytes.length - 1]! ^= 1;
  writeFileSync(picture, bytes);
  const out = join(root, 'package-changed');
  await expect(
    convertFolder({ source: ckpt, templates, out, dtypes: ['q4'], name: 'shapes' }),
  ).rejects.toThrow("examples/test_00003.png is not the file the templates' manifest lists");
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(root).filter((n) => n.includes('.converting-'))).toEqual([]);
}, 300_000);

it('templates/shapes is what the exporter makes now', () => {
  need();
  const out = join(root, 'templates');
  try {
    python(['-m', 'shapesworld.package', '--templates', out, '--checkpoint', ckpt]);
  } catch (err) {
    throw failure('python -m shapesworld.package --templates', err);
  }
  const files = filesUnder(out);
  expect(filesUnder(TEMPLATES)).toEqual(files);
  const withoutSource = (dir: string) => {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    delete m['source'];
    return m;
  };
  expect(withoutSource(out)).toEqual(withoutSource(TEMPLATES));
  const stale = files.filter(
    (f) => f !== 'manifest.json' && !readFileSync(join(out, f)).equals(readFileSync(join(TEMPLATES, f))),
  );
  expect(
    stale,
    'remake them: cd tools/shapes && ../export/.venv/bin/python -m shapesworld.recover && ../export/.venv/bin/python -m shapesworld.package --templates ../../templates/shapes',
  ).toEqual([]);
}, 600_000);
