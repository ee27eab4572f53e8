/**
 * comparePackages on real folders: a copy of the shipped tiny-random package, changed one way at
 * a time, against the shipped package.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COLOR_TOLERANCE, comparePackages, topLevelFields } from './compare';
import { REPO } from './sources';

const SHIPPED = join(REPO, 'public/models/tiny-random');

let root: string;
let copy: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'editmgt-compare-'));
  copy = join(root, 'tiny-random');
  cpSync(SHIPPED, copy, { recursive: true });
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(path, bytes);
}

function editManifest(edit: (text: string) => string): void {
  const path = join(copy, 'manifest.json');
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  expect(after).not.toBe(before);
  writeFileSync(path, after);
}

/** Moves the first codebook colour by `delta`, keeping the exporter's format. */
function shiftFirstColour(delta: number): void {
  editManifest((text) =>
    text.replace(/("codebook_colors": \[\n\s*\[\n\s*)(-?[\d.e-]+)/, (_, head: string, x: string) => {
      return `${head}${String(Number(x) + delta)}`;
    }),
  );
}

describe('comparePackages', () => {
  it('finds a copy identical, every listed file and the manifest compared', () => {
    const c = comparePackages(copy, SHIPPED);
    const listed = (JSON.parse(readFileSync(join(SHIPPED, 'manifest.json'), 'utf8')) as { files: unknown[] })
      .files;
    expect(c.identical).toBe(true);
    expect(c.files).toBe(listed.length + 1);
    expect(c.differing).toBe(0);
    expect(c.colorMaxDiff).toBe(0);
    expect(c.unlisted).toEqual([]);
  });

  it('names the first differing file in path order and the offset of its first differing byte', () => {
    flipByte(join(copy, 'q8/vq_encode.onnx.data'), 100);
    flipByte(join(copy, 'fp16/text_llm.table'), 7);
    const c = comparePackages(copy, SHIPPED);
    expect(c.identical).toBe(false);
    expect(c.differing).toBe(2);
    expect(c.firstDifference).toEqual({
      file: 'fp16/text_llm.table',
      why: 'first differing byte at offset 7',
    });
  });

  it('names a listed file missing from the converted package, or of another size', () => {
    unlinkSync(join(copy, 'q4/text_clip.onnx'));
    writeFileSync(join(copy, 'tokenizer_llm/tokenizer.json'), '{}');
    const c = comparePackages(copy, SHIPPED);
    expect(c.firstDifference).toEqual({
      file: 'q4/text_clip.onnx',
      why: 'missing from the converted package',
    });
    expect(c.differing).toBe(2);
  });

  it('sets the generator aside, and codebook colours within the tolerance, but not beyond it', () => {
    editManifest((t) => t.replace(/"tool": "[^"]*"/, '"tool": "another converter 9.9"'));
    shiftFirstColour(COLOR_TOLERANCE / 2);
    const within = comparePackages(copy, SHIPPED);
    expect(within.identical).toBe(true);
    expect(within.colorMaxDiff).toBeCloseTo(COLOR_TOLERANCE / 2, 9);
    expect(within.ignored).toEqual([`codebook_colors (within ${COLOR_TOLERANCE})`, 'generator']);

    shiftFirstColour(COLOR_TOLERANCE);
    const beyond = comparePackages(copy, SHIPPED);
    expect(beyond.identical).toBe(false);
    expect(beyond.firstDifference?.file).toBe('manifest.json');
    expect(beyond.firstDifference?.why).toBe('codebook_colors up to 0.000015 apart (tolerance 0.00001)');
    // a tighter tolerance refuses what the default allows
    cpSync(join(SHIPPED, 'manifest.json'), join(copy, 'manifest.json'));
    shiftFirstColour(COLOR_TOLERANCE / 2);
    expect(comparePackages(copy, SHIPPED, { colorTolerance: 1e-6 }).identical).toBe(false);
  });

  it('compares the manifest as written: a number written another way differs', () => {
    editManifest((t) => t.replace('"format_version": 1,', '"format_version": 1.0,'));
    const c = comparePackages(copy, SHIPPED);
    expect(c.firstDifference).toEqual({ file: 'manifest.json', why: 'field format_version differs' });
  });

  it('compares source.revision unless told to set it aside', () => {
    editManifest((t) =>
      t.replace(/"revision": "content:[0-9a-f]+"/, '"revision": "content:0000000000000000"'),
    );
    expect(comparePackages(copy, SHIPPED).firstDifference).toEqual({
      file: 'manifest.json',
      why: 'field source differs',
    });
    const c = comparePackages(copy, SHIPPED, { ignoreRevision: true });
    expect(c.identical).toBe(true);
    expect(c.ignored).toContain('source.revision');
  });

  it('names the files entry whose digest differs', () => {
    editManifest((t) =>
      t.replace(/("path": "q4\/vq_decode.onnx",\n\s*"bytes": \d+,\n\s*"sha256": ")[0-9a-f]/, '$1z'),
    );
    expect(comparePackages(copy, SHIPPED).firstDifference).toEqual({
      file: 'manifest.json',
      why: 'field files (the entry of q4/vq_decode.onnx) differs',
    });
  });

  it('keeps files no manifest lists (the model card) out of the identity', () => {
    writeFileSync(join(copy, 'README.md'), '# card\n');
    writeFileSync(join(copy, 'NOTICE'), 'notice\n');
    const c = comparePackages(copy, SHIPPED);
    expect(c.identical).toBe(true);
    expect(c.unlisted).toEqual(['NOTICE', 'README.md']);
  });

  it('compares only graph files for a converter that writes no manifest', () => {
    const graphs = join(root, 'graphs');
    cpSync(join(SHIPPED, 'q4'), join(graphs, 'q4'), { recursive: true });
    const c = comparePackages(graphs, SHIPPED, { scope: 'graph-files' });
    expect(c.identical).toBe(true);
    expect(c.files).toBe(12);
    writeFileSync(join(graphs, 'q4/dropped.onnx'), 'a graph the packager drops');
    expect(comparePackages(graphs, SHIPPED, { scope: 'graph-files' })).toMatchObject({
      identical: true,
      unlisted: ['q4/dropped.onnx'],
    });
    unlinkSync(join(graphs, 'q4/text_llm.table'));
    flipByte(join(graphs, 'q4/vq_decode.onnx.data_1'), 0);
    const d = comparePackages(graphs, SHIPPED, { scope: 'graph-files' });
    expect(d.firstDifference).toEqual({
      file: 'q4/text_llm.table',
      why: 'missing from the converted package',
    });
    expect(d.differing).toBe(2);
  });

  it('splits a manifest into its top-level fields as the exporter writes them', () => {
    const fields = topLevelFields(readFileSync(join(SHIPPED, 'manifest.json'), 'utf8'));
    expect([...fields.keys()]).toEqual(
      Object.keys(JSON.parse(readFileSync(join(SHIPPED, 'manifest.json'), 'utf8')) as object),
    );
    expect(fields.get('format_version')).toBe(' "format_version": 1');
  });
});
