/**
 * The model card: the TypeScript card (src/engine/convert/modelCard.ts) is byte for byte the
 * exporter's (`editmgt_export/model_card.py`) for the same manifest and options, and
 * `convertFolder` with `card` writes it (README.md, NOTICE) into the package, outside the
 * manifest's files. Needs the exporter's venv (tools/export/.venv); without it the tests fail
 * saying so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { megabytes, modelCard, modelCardFiles, noticeText, openLink } from '../../../convert/modelCard';
import type { ModelCardOptions } from '../../../convert/modelCard';
import { REPO } from '../testing/testModel';
import { convertFolder } from './convertFolder';
import { makeLayouts } from './testing/layouts';

const EXPORT = join(REPO, 'tools/export');
const PYTHON = join(EXPORT, '.venv/bin/python');

interface Case {
  manifest: unknown;
  options: ModelCardOptions;
}

/** model_card.py's card and notice for each case. */
function pythonCards(cases: readonly Case[]): { card: string; notice: string }[] {
  if (!existsSync(PYTHON))
    throw new Error(
      `the exporter's Python is missing (${PYTHON}): run npm run export:setup, then this test again`,
    );
  const code = [
    'import json, sys',
    'from editmgt_export.model_card import model_card, notice_text',
    'out = []',
    'for c in json.load(sys.stdin):',
    '    o = c["options"]',
    '    kw = {"repo": o.get("repo"), "revision": o.get("revision", "main"), "editor_url": o.get("editorUrl"), "from_editmgt": o.get("fromEditmgt", True)}',
    '    out.append({"card": model_card(c["manifest"], **kw), "notice": notice_text(kw["from_editmgt"])})',
    'sys.stdout.write(json.dumps(out))',
  ].join('\n');
  const text = execFileSync(PYTHON, ['-c', code], {
    cwd: EXPORT,
    input: JSON.stringify(cases),
    encoding: 'utf8',
  });
  return JSON.parse(text) as { card: string; notice: string }[];
}

function shipped(name: string): unknown {
  return JSON.parse(readFileSync(join(REPO, 'public/models', name, 'manifest.json'), 'utf8'));
}

/** A manifest whose dtype sizes fall on rounding ties, with names that need escaping. */
function edgeManifest(): unknown {
  const files = [
    ['q4/g.onnx', 250_000], // 0.25 MB: Python rounds the tie to even, 0.2
    ['q4f16/g.onnx', 750_000], // 0.75 → 0.8
    ['fp16/g.onnx', 1_250_000], // 1.25 → 1.2
    ['fp16/g.onnx.data', 1_234_567_890_123],
    ['fp32/g.onnx', 49_999],
    ['fp32/g.table', 50_000],
    ['tok/tokenizer.json', 0],
  ] as const;
  return {
    name: 'Café ✓ "quoted" <b>',
    source: { id: 'hf:owner/repo(1)!', revision: null },
    generator: { tool: 'some tool', versions: { b: '2', A: '1', a: '3', Z: '0.1' } },
    files: files.map(([path, bytes]) => ({ path, bytes })),
    dtypes: {
      q4: { providers: ['webgpu'], graphs: { g: { file: 'q4/g.onnx' } } },
      q4f16: { graphs: { g: { file: 'q4f16/g.onnx', external_data: [] } } },
      fp16: {
        providers: ['webgpu', 'wasm'],
        graphs: { g: { file: 'fp16/g.onnx', external_data: ['fp16/g.onnx.data'] } },
      },
      fp32: {
        providers: [],
        graphs: {
          g: { file: 'fp32/g.onnx', token_table: { file: 'fp32/g.table' } },
          h: { file: 'fp32/missing.onnx' },
        },
      },
    },
    tokenizers: { clip: { files: ['tok/tokenizer.json'] }, llm: {} },
  };
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'editmgt-model-card-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('model card', () => {
  it("is the exporter's card, byte for byte, for the same manifest and options", () => {
    const cases: Case[] = [
      { manifest: shipped('tiny-random'), options: {} },
      {
        manifest: shipped('tiny-random'),
        options: { repo: 'someone/editmgt-q4', editorUrl: 'https://editor.example/app/' },
      },
      { manifest: shipped('tiny-random'), options: { editorUrl: 'https://editor.example//' } },
      { manifest: shipped('shapes'), options: { repo: 'a/b', revision: 'abc123', fromEditmgt: false } },
      { manifest: edgeManifest(), options: { repo: "o/n(1)!*'~", editorUrl: 'https://e.example/x y/' } },
      { manifest: edgeManifest(), options: { fromEditmgt: false } },
    ];
    const python = pythonCards(cases);
    cases.forEach((c, i) => {
      expect(modelCard(c.manifest, c.options), `case ${i}`).toBe(python[i]!.card);
      expect(noticeText(c.options.fromEditmgt ?? true), `case ${i}`).toBe(python[i]!.notice);
    });
    // the edge manifest does reach the rounding ties and the escapes
    const card = python[4]!.card;
    expect(card).toContain('| q4 | webgpu | 0.2 MB |');
    expect(card).toContain('| q4f16 |  | 0.8 MB |');
    expect(card).toContain('| fp16 | webgpu, wasm | 1,234,569.1 MB |');
    expect(card).toContain('%28');
  });

  it('rounds sizes as Python does, ties to even', () => {
    expect(megabytes(250_000)).toBe('0.2 MB');
    expect(megabytes(350_000)).toBe('0.3 MB'); // not a tie in binary: 0.35 is below it
    expect(megabytes(750_000)).toBe('0.8 MB');
    expect(megabytes(12_345_678_901)).toBe('12,345.7 MB');
    expect(openLink('https://e.example/', 'https://huggingface.co/a/b/resolve/main/')).toBe(
      'https://e.example/?model=https%3A%2F%2Fhuggingface.co%2Fa%2Fb%2Fresolve%2Fmain%2F',
    );
  });

  it('convertFolder writes README.md and NOTICE into the package, outside its manifest', async () => {
    const layouts = join(root, 'layouts');
    const failed = makeLayouts(layouts);
    if (failed) throw failed;
    const card = { repo: 'someone/tiny', editorUrl: 'https://editor.example/' };
    const out = join(root, 'with-card');
    await convertFolder({
      source: join(layouts, 'single'),
      templates: join(REPO, 'templates/tiny-random'),
      out,
      dtypes: ['q4'],
      name: 'tiny-random',
      card,
    });
    const manifestText = readFileSync(join(out, 'manifest.json'), 'utf8');
    const manifest = JSON.parse(manifestText) as { files: { path: string }[] };
    const [python] = pythonCards([{ manifest, options: card }]);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe(python!.card);
    expect(readFileSync(join(out, 'NOTICE'), 'utf8')).toBe(python!.notice);
    expect(modelCardFiles(manifest, card).get('README.md')).toBe(python!.card);
    expect(manifest.files.map((f) => f.path).filter((p) => p === 'README.md' || p === 'NOTICE')).toEqual([]);
    expect(readdirSync(join(root)).filter((n) => n.includes('.converting-'))).toEqual([]);

    // without `card`, no card (the package-identity tests convert so)
    const bare = join(root, 'without-card');
    await convertFolder({
      source: join(layouts, 'single'),
      templates: join(REPO, 'templates/tiny-random'),
      out: bare,
      dtypes: ['q4'],
      name: 'tiny-random',
    });
    expect(existsSync(join(bare, 'README.md'))).toBe(false);
    expect(existsSync(join(bare, 'NOTICE'))).toBe(false);
  }, 300_000);
});
