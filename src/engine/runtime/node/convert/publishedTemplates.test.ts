/**
 * The shipped templates against EditMGT's published checkpoint layout, without its 16 GB: the
 * folder `__fixtures__/published_headers.py` writes (stream_checkpoint's configs, tokenizers,
 * shard split and safetensors headers at the published config, each weights file's data a hole
 * that takes no disk). With it:
 * - the shipped templates' choice (the first whose config fits, as `npm run convert` tries them;
 *   with no resolution asked, the lowest that fits): the published config gets
 *   templates/editmgt-512 (editmgt-1024 at 1024 px), the tiny and shapes checkpoints keep theirs;
 *   a config one field away is refused naming that field for the closest templates; a dtype or a
 *   resolution the shipped templates lack is refused naming what they have;
 * - every tensor the editmgt-512 and editmgt-1024 weight maps read exists in the published layout, a float tensor
 *   whose shape gives the map entry's: each entry goes through the converter's own checks
 *   (applyWeightMap, up to its first read of tensor data, which these weights refuse).
 * Needs the exporter's venv (tools/export/.venv); without it the tests fail saying so.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyWeightMap, readWeightMap } from '../../../convert/applyWeightMap';
import type { PackageWriter } from '../../../convert/applyWeightMap';
import { memorySource } from '../../../convert/byteSource';
import { openCheckpoint } from '../../../convert/checkpoint';
import type { CheckpointWeights } from '../../../convert/weights';
import { convertFolder, findTemplates } from './convertFolder';
import { folderSource } from './folderSource';

const REPO = fileURLToPath(new URL('../../../../..', import.meta.url));
const EXPORT = join(REPO, 'tools/export');
const PYTHON = join(EXPORT, '.venv/bin/python');
const FIXTURE = fileURLToPath(new URL('./__fixtures__/published_headers.py', import.meta.url));
const TEMPLATES = join(REPO, 'templates');
const PUBLISHED = join(TEMPLATES, 'editmgt-512');
const PUBLISHED_1024 = join(TEMPLATES, 'editmgt-1024');

/** The shipped template folders in the order `npm run convert` tries them (cli/convert.ts). */
function shipped(): string[] {
  return readdirSync(TEMPLATES)
    .sort()
    .map((n) => join(TEMPLATES, n))
    .filter((d) => existsSync(join(d, 'manifest.json')));
}

const run = promisify(execFile);
let root: string;
let published: string;
let layouts: string;
let shapes: string;
let unavailable: Error | undefined;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'editmgt-published-'));
  published = join(root, 'published');
  layouts = join(root, 'layouts');
  shapes = join(root, 'shapes');
  if (!existsSync(PYTHON)) {
    unavailable = new Error(
      `the exporter's Python is missing (${PYTHON}): run npm run export:setup, then this test again`,
    );
    return;
  }
  try {
    await run(PYTHON, [FIXTURE, published], { cwd: EXPORT });
    await run(PYTHON, ['-m', 'editmgt_export', 'layouts', '--out', layouts], { cwd: EXPORT });
    await run(PYTHON, ['-m', 'shapesworld.recover', '--out', shapes], { cwd: join(REPO, 'tools/shapes') });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    unavailable = new Error(`the test checkpoints could not be made: ${stderr || (err as Error).message}`);
  }
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function need(): void {
  if (unavailable) throw unavailable;
}

/**
 * The published checkpoint with its transformer's config.json changed by `change`: every other
 * file a link to the published folder's (the weights stay holes).
 */
function publishedWith(name: string, change: (config: Record<string, unknown>) => void): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const sub of readdirSync(published)) {
    if (sub !== 'transformer') {
      symlinkSync(join(published, sub), join(dir, sub));
      continue;
    }
    mkdirSync(join(dir, sub), { recursive: true });
    for (const f of readdirSync(join(published, sub)))
      if (f !== 'config.json') symlinkSync(join(published, sub, f), join(dir, sub, f));
    const config = JSON.parse(readFileSync(join(published, sub, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    change(config);
    writeFileSync(join(dir, sub, 'config.json'), JSON.stringify(config, null, 2));
  }
  return dir;
}

describe('the shipped templates a checkpoint converts with', () => {
  it('the published config gets templates/editmgt-512, or editmgt-1024 at 1024 px; the tiny and shapes checkpoints keep theirs', async () => {
    need();
    // editmgt-1024 is tried first (name order), but with no resolution asked the lower one wins
    expect(shipped().indexOf(PUBLISHED_1024)).toBeLessThan(shipped().indexOf(PUBLISHED));
    expect(await findTemplates(published, shipped())).toBe(PUBLISHED);
    expect(await findTemplates(published, shipped(), { dtypes: ['q4'] })).toBe(PUBLISHED);
    expect(await findTemplates(published, shipped(), { resolution: 512 })).toBe(PUBLISHED);
    expect(await findTemplates(published, shipped(), { resolution: 1024, dtypes: ['q4'] })).toBe(
      PUBLISHED_1024,
    );
    expect(await findTemplates(join(layouts, 'single'), shipped(), { dtypes: ['fp32', 'q8'] })).toBe(
      join(TEMPLATES, 'tiny-random'),
    );
    expect(await findTemplates(shapes, shipped(), { dtypes: ['q8'] })).toBe(join(TEMPLATES, 'shapes'));
  }, 120_000);

  it('a config one field away from the published one is refused naming that field, for the closest templates', async () => {
    need();
    const dir = publishedWith('one-off', (c) => (c['num_single_layers'] = 27));
    const refusal = findTemplates(dir, shipped());
    await expect(refusal).rejects.toThrow(/^no shipped templates fit /);
    const lines = (await refusal.catch((err: Error) => err.message)).split('\n');
    // the closest first: the published templates, and the one field they differ in
    expect(lines[1]).toBe(
      `closest: ${dir}/transformer/config.json num_single_layers is 27, but the templates (${PUBLISHED}) are for 28 (config.transformer.num_single_layers)`,
    );
    // then each other candidate with its first field
    expect(lines.slice(2)).toHaveLength(shipped().length - 1);
    for (const other of shipped().filter((d) => d !== PUBLISHED))
      expect(lines.some((l) => l.includes(`the templates (${other}) are for`))).toBe(true);
  }, 120_000);

  it('a tiny checkpoint one field away is told that field for templates/tiny-random first, though it is tried last', async () => {
    need();
    const dir = join(root, 'tiny-one-off');
    cpSync(join(layouts, 'single'), dir, { recursive: true });
    const file = join(dir, 'editmgt', 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    config['num_layers'] = 3;
    writeFileSync(file, JSON.stringify(config));
    const message = await findTemplates(dir, shipped()).catch((err: Error) => err.message);
    expect(shipped().at(-1)).toBe(join(TEMPLATES, 'tiny-random'));
    expect(message.split('\n')[1]).toBe(
      `closest: ${dir}/editmgt/config.json num_layers is 3, but the templates (${join(TEMPLATES, 'tiny-random')}) are for 2 (config.transformer.num_layers)`,
    );
  }, 120_000);

  it('a dtype the shipped templates lack is refused naming the dtypes they have, before anything is written', async () => {
    need();
    await expect(findTemplates(published, shipped(), { dtypes: ['q8'] })).rejects.toThrow(
      `the shipped templates for ${published}'s config (${PUBLISHED}) have q4 only, not q8: convert with --dtype q4, or make them with \`python -m editmgt_export template --source <checkpoint> --dtype q8 --out <folder>\` and pass --templates <folder>`,
    );
    await expect(findTemplates(published, shipped(), { dtypes: ['q4', 'fp16'] })).rejects.toThrow(
      /have q4 only, not fp16: convert with --dtype q4/,
    );
    // the templates named outright: the converter refuses the dtype before writing anything
    const out = join(root, 'q8-package');
    await expect(
      convertFolder({ source: published, templates: PUBLISHED, out, dtypes: ['q8'] }),
    ).rejects.toThrow(`the templates at ${PUBLISHED} have no q8 dtype (they have: q4)`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((n) => n.includes('q8-package'))).toEqual([]);
  }, 120_000);

  it('a resolution the shipped templates lack is refused naming theirs', async () => {
    need();
    await expect(findTemplates(published, shipped(), { resolution: 768 })).rejects.toThrow(
      `the shipped templates for ${published}'s config (${PUBLISHED}, ${PUBLISHED_1024}) are made for 512 and 1024 px, not 768 px: leave out --resolution, or make them with \`python -m editmgt_export template --source <checkpoint> --dtype q4 --resolution 768 --out <folder>\``,
    );
  }, 120_000);
});

/** A tensor data read of the checkpoint: the checks before it have passed. */
class DataRead extends Error {}

/** The weights' names, dtypes and shapes from their headers; any read of their data refused. */
function headersOnly(weights: CheckpointWeights): CheckpointWeights {
  return Object.assign(Object.create(weights) as CheckpointWeights, {
    readRows: () => Promise.reject(new DataRead()),
    readFloat32: () => Promise.reject(new DataRead()),
  });
}

/** A package writer that keeps nothing (the entries are only checked here). */
const nowhere: PackageWriter = {
  async writeFile() {},
  async createFile() {},
  async writeAt() {},
  async *readBlocks() {},
  async size() {
    return 0;
  },
};

it.each(['editmgt-512', 'editmgt-1024'])(
  'every tensor the %s weight maps read is in the published layout, of a float dtype and a shape that gives the entry',
  async (name) => {
    need();
    const ckpt = await openCheckpoint(folderSource(published));
    const bySubfolder: Record<string, CheckpointWeights> = {
      text_encoder: headersOnly(ckpt.weights.clip),
      llm_encoder: headersOnly(ckpt.weights.llm),
      vqvae: headersOnly(ckpt.weights.vq),
      transformer: headersOnly(ckpt.weights.transformer),
    };
    const files: Record<string, Uint8Array> = {};
    const folder = join(TEMPLATES, name, 'q4');
    for (const f of readdirSync(folder)) files[`q4/${f}`] = readFileSync(join(folder, f));
    const templates = memorySource(`templates/${name}`, files);
    const graphs = readdirSync(folder)
      .filter((f) => f.endsWith('.weights.json'))
      .map((f) => f.slice(0, -'.weights.json'.length));
    expect(graphs.sort()).toEqual(['text_clip', 'text_llm', 'transformer_step', 'vq_decode', 'vq_encode']);
    const read = new Set<string>();
    let checked = 0;
    for (const graph of graphs) {
      const map = await readWeightMap(templates, `q4/${graph}.weights.json`);
      for (const entry of map.entries) {
        if (!entry.sources?.length) continue;
        // the entry alone: its source's presence, dtype and shape checked, then its first data read
        const result = applyWeightMap({
          map: { ...map, entries: [entry] },
          templates,
          templateFolder: 'q4',
          weights: (sub) => {
            const w = bySubfolder[sub];
            if (!w) throw new Error(`a weight map names subfolder '${sub}'`);
            return w;
          },
          writer: nowhere,
          folder: 'q4',
        });
        await expect(result, `${graph}: ${entry.name}`).rejects.toBeInstanceOf(DataRead);
        for (const s of entry.sources) read.add(`${s.subfolder}/${s.tensor}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2000);
    // and the check can fail: an entry whose shape the source's does not give is refused
    const map = await readWeightMap(templates, 'q4/vq_decode.weights.json');
    const entry = map.entries.find((e) => e.encoding?.type === 'float32' && e.shape.length === 2)!;
    const wrong = { ...entry, shape: [entry.shape[0]! + 1, entry.shape[1]!] };
    await expect(
      applyWeightMap({
        map: { ...map, entries: [wrong] },
        templates,
        templateFolder: 'q4',
        weights: () => bySubfolder['vqvae']!,
        writer: nowhere,
        folder: 'q4',
      }),
    ).rejects.toThrow(/where the template expects/);
    // every tensor the published checkpoint stores is read by some map but Gemma's last layer, its
    // final norm and its LM head (the text graph takes the hidden states before them)
    const stored = [
      ...ckpt.weights.clip.names().map((n) => `text_encoder/${n}`),
      ...ckpt.weights.llm.names().map((n) => `llm_encoder/${n}`),
      ...ckpt.weights.vq.names().map((n) => `vqvae/${n}`),
      ...ckpt.weights.transformer.names().map((n) => `transformer/${n}`),
    ];
    const unread = stored.filter((n) => !read.has(n));
    expect(unread.sort()).toEqual(
      stored
        .filter((n) => /^llm_encoder\/(lm_head\.weight|model\.norm\.weight|model\.layers\.25\.)/.test(n))
        .sort(),
    );
    expect(unread).toHaveLength(13);
  },
  300_000,
);
