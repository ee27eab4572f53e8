/**
 * The TypeScript converter (`convertFolder`, what `npm run convert` runs) on the tiny checkpoint
 * in every hub layout (`python -m editmgt_export layouts`, the project's random-checkpoint
 * builder), with the shipped templates (templates/tiny-random):
 * - single, sharded, variant, tied and vocab-merges give public/models/tiny-random in every dtype,
 *   every graph, chunk, table and tokenizer file byte for byte; the manifest is byte-identical once
 *   `generator` and `codebook_colors` are set to the shipped ones, apart from what names the
 *   source: `source.revision` (the exporter's content hash of the checkpoint folder, which differs
 *   for every layout but single) and, for vocab-merges, its own tokenizer_config.json (copied as
 *   the checkpoint has it; it names CLIPTokenizer) with that file's size and sha256;
 * - `codebook_colors` (a VQ decode on onnxruntime-node) is the exporter's within 1e-5 (both are
 *   rounded to 6 decimals from float32 convolutions and means whose summation order depends on the
 *   library and the CPU's kernels; 1e-6 apart was measured on AMD);
 * - bf16 and variant-only (fp16 files alone) give the package of `rounded` (the same values in
 *   float32), byte for byte but for source.revision;
 * - bin-only, and each bad input below, is refused with a message naming the file, tensor or
 *   field, and leaves no package folder and no temporary folder.
 * Needs the exporter's venv (tools/export/.venv); without it every test fails saying so.
 */
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePyJson, pyJsonText } from '../../../convert/pyJson';
import type { PyObject } from '../../../convert/pyJson';
import { writeSafetensors } from '../../../convert/testing/safetensorsWriter';
import type { TensorToWrite } from '../../../convert/testing/safetensorsWriter';
import { convertPackage } from '../../../convert/convertPackage';
import type { DecodeVq } from '../../../convert/convertPackage';
import { convertFolder } from './convertFolder';
import { folderSource } from './folderSource';
import { createPackageFolder } from './packageFolder';
import { startHubServer } from './testing/hubServer';
import { makeLayouts } from './testing/layouts';

const REPO = fileURLToPath(new URL('../../../../..', import.meta.url));
const SHIPPED = join(REPO, 'public/models/tiny-random');
const TEMPLATES = join(REPO, 'templates/tiny-random');
const DTYPES = ['fp32', 'fp16', 'q4', 'q4f16', 'q8'];
const SOURCE_ID = 'editmgt_export tiny --seed 0';
/**
 * codebook colours, in [0, 1]: torch's and onnxruntime's float32 convolutions sum in orders that
 * depend on the CPU (Intel or AMD), then both round to 6 decimals; 1e-6 apart measured on AMD, and
 * 1e-5 is still 400 times finer than one 8-bit step of the colour
 */
const COLOR_TOLERANCE = 1e-5;

let root: string;
let layouts: string;
let unavailable: Error | undefined;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'editmgt-convert-'));
  layouts = join(root, 'layouts');
  unavailable = makeLayouts(layouts);
}, 300_000);
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function need(): void {
  if (unavailable) throw unavailable;
}

function filesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(dir, p));
    else out.push(p);
  }
  return out.sort();
}

async function convert(
  layout: string,
  out: string,
  dtypes = DTYPES,
  signal?: AbortSignal,
  log?: (l: string) => void,
) {
  return convertFolder({
    source: join(layouts, layout),
    templates: TEMPLATES,
    out,
    dtypes,
    name: 'tiny-random',
    sourceId: SOURCE_ID,
    signal,
    log,
  });
}

function manifestOf(dir: string): PyObject {
  return parsePyJson(readFileSync(join(dir, 'manifest.json'), 'utf8'), dir) as PyObject;
}

/** Nothing at `out` and no temporary folder beside it. */
function expectNothingLeft(out: string): void {
  expect(existsSync(out)).toBe(false);
  const parent = join(out, '..');
  expect(readdirSync(parent).filter((n) => n.includes('.converting-'))).toEqual([]);
}

describe('convert: every layout of the tiny checkpoint gives the shipped package', () => {
  const shipped = () => manifestOf(SHIPPED);

  it.each(['single', 'sharded', 'variant', 'tied', 'vocab-merges'])(
    '%s',
    async (layout) => {
      need();
      const out = join(root, `pkg-${layout}`);
      await convert(layout, out);
      const ownTokenizerConfig = layout === 'vocab-merges' ? ['tokenizer_clip/tokenizer_config.json'] : [];
      const files = filesUnder(SHIPPED);
      expect(filesUnder(out)).toEqual(files);
      const differing = files.filter(
        (f) => f !== 'manifest.json' && !readFileSync(join(out, f)).equals(readFileSync(join(SHIPPED, f))),
      );
      expect(differing).toEqual(ownTokenizerConfig);
      for (const f of ownTokenizerConfig)
        expect(readFileSync(join(out, f))).toEqual(
          readFileSync(join(layouts, layout, 'tokenizer/tokenizer_config.json')),
        );

      const ours = manifestOf(out);
      const theirs = shipped();
      // codebook colours within the tolerance
      const a = (ours.get('codebook_colors') as PyObject[]).flat() as unknown as { value: number }[];
      const b = (theirs.get('codebook_colors') as PyObject[]).flat() as unknown as { value: number }[];
      expect(a.length).toBe(b.length);
      const worst = Math.max(...a.map((x, i) => Math.abs(x.value - b[i]!.value)));
      expect(worst).toBeLessThanOrEqual(COLOR_TOLERANCE);
      // the rest byte for byte, with generator and colours set to the exporter's
      ours.set('generator', theirs.get('generator')!);
      ours.set('codebook_colors', theirs.get('codebook_colors')!);
      const source = ours.get('source') as PyObject;
      if (layout === 'single')
        expect(source.get('revision')).toBe((theirs.get('source') as PyObject).get('revision'));
      else source.set('revision', (theirs.get('source') as PyObject).get('revision')!);
      if (ownTokenizerConfig.length) {
        const entry = (ours.get('files') as PyObject[]).find((f) => f.get('path') === ownTokenizerConfig[0])!;
        const shippedEntry = (theirs.get('files') as PyObject[]).find(
          (f) => f.get('path') === ownTokenizerConfig[0],
        )!;
        entry.set('bytes', shippedEntry.get('bytes')!);
        entry.set('sha256', shippedEntry.get('sha256')!);
      }
      expect(pyJsonText(ours)).toBe(readFileSync(join(SHIPPED, 'manifest.json'), 'utf8'));
    },
    120_000,
  );

  it('bf16 and fp16-only checkpoints give the package of the same values in float32', async () => {
    need();
    const rounded = join(root, 'pkg-rounded');
    await convert('rounded', rounded);
    for (const layout of ['bf16', 'variant-only']) {
      const out = join(root, `pkg-${layout}`);
      await convert(layout, out);
      const files = filesUnder(rounded);
      expect(filesUnder(out)).toEqual(files);
      expect(
        files.filter(
          (f) => f !== 'manifest.json' && !readFileSync(join(out, f)).equals(readFileSync(join(rounded, f))),
        ),
      ).toEqual([]);
      const ours = manifestOf(out);
      (ours.get('source') as PyObject).set(
        'revision',
        (manifestOf(rounded).get('source') as PyObject).get('revision')!,
      );
      expect(pyJsonText(ours)).toBe(readFileSync(join(rounded, 'manifest.json'), 'utf8'));
    }
  }, 180_000);

  it('codebook colours: a decode that hands each grid to onGrid and one that returns all grids agree', async () => {
    need();
    // stand-in pixels (a pattern, not a decode): this is about how the converter takes them
    const decode =
      (each: boolean): DecodeVq =>
      async ({ grids, tokenGrid, onGrid }) => {
        const [height, width] = [tokenGrid[0] * 4, tokenGrid[1] * 4];
        const one = 3 * height * width;
        const all = Float32Array.from({ length: grids * one }, (_, i) => ((i * 7919) % 1009) / 1009);
        if (!each) return { pixels: all, height, width };
        for (let m = 0; m < grids; m++) onGrid!(all.subarray(m * one, (m + 1) * one), height, width);
        return { pixels: new Float32Array(0), height: 0, width: 0 };
      };
    const colors: unknown[] = [];
    for (const each of [false, true]) {
      const folder = await createPackageFolder(join(root, 'grids', String(each)));
      try {
        const result = await convertPackage({
          source: folderSource(join(layouts, 'single')),
          templates: folderSource(TEMPLATES),
          writer: folder,
          dtypes: ['q4'],
          name: 'tiny-random',
          decodeVq: decode(each),
        });
        colors.push((result.manifest as { codebook_colors: unknown }).codebook_colors);
      } finally {
        await folder.discard();
      }
    }
    expect((colors[0] as unknown[]).length).toBe(64);
    expect(colors[1]).toEqual(colors[0]);
    expect(colors[0]).not.toEqual(Array.from({ length: 64 }, () => [0, 0, 0]));
  }, 120_000);

  it('hf: a sharded checkpoint on a local hub gives the same files, its revision the commit', async () => {
    need();
    const server = await startHubServer({
      root: join(layouts, 'sharded'),
      repo: 'owner/tiny',
      lfsMinBytes: 4096,
    });
    try {
      const out = join(root, 'pkg-hub');
      await convertFolder({
        source: 'hf:owner/tiny',
        templates: TEMPLATES,
        out,
        dtypes: ['q4', 'q8'],
        name: 'tiny-random',
        hub: { env: { HF_ENDPOINT: server.endpoint } },
      });
      const files = filesUnder(out).filter((f) => f !== 'manifest.json');
      expect(files.length).toBeGreaterThan(20);
      expect(files.filter((f) => !readFileSync(join(out, f)).equals(readFileSync(join(SHIPPED, f))))).toEqual(
        [],
      );
      const source = manifestOf(out).get('source') as PyObject;
      expect(source.get('id')).toBe('hf:owner/tiny');
      expect(source.get('revision')).toBe(server.commit);
      expect(server.requests.some((r) => r.server === 'storage' && r.status === 206)).toBe(true);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('a .bin-only checkpoint is refused, naming the pickle, and nothing is written', async () => {
    need();
    const out = join(root, 'bad', 'bin-only');
    await expect(convert('bin-only', out, ['fp32'])).rejects.toThrow(
      /text_encoder.*pytorch_model\.bin.*never loaded/,
    );
    expectNothingLeft(out);
  }, 60_000);
});

describe('convert: bad input is refused by name and leaves nothing', () => {
  const VQ = 'vqvae/diffusion_pytorch_model.safetensors';
  let n = 0;
  /** a copy of the single layout, changed by `edit` */
  function broken(edit: (dir: string) => void): string {
    const dir = join(root, `broken-${++n}`);
    cpSync(join(layouts, 'single'), dir, { recursive: true });
    edit(dir);
    return dir;
  }
  function readTensors(file: string): TensorToWrite[] {
    const bytes = readFileSync(file);
    const len = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + len).toString('utf8')) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
    return Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([name, t]) => ({
        name,
        dtype: t.dtype,
        shape: t.shape,
        data: new Uint8Array(bytes.subarray(8 + len + t.data_offsets[0], 8 + len + t.data_offsets[1])),
      }));
  }
  function rewrite(dir: string, change: (ts: TensorToWrite[]) => TensorToWrite[]): void {
    const file = join(dir, VQ);
    writeFileSync(file, writeSafetensors(change(readTensors(file))));
  }
  async function refused(dir: string, message: RegExp): Promise<void> {
    need();
    const out = join(root, 'bad', `out-${n}`);
    await expect(
      convertFolder({ source: dir, templates: TEMPLATES, out, dtypes: ['fp32', 'q4'], name: 'x' }),
    ).rejects.toThrow(message);
    expectNothingLeft(out);
  }
  const TENSOR = 'decoder.conv_in.weight';

  it('a truncated safetensors file', async () => {
    need();
    const dir = broken((d) => truncateSync(join(d, VQ), readFileSync(join(d, VQ)).length - 100));
    await refused(dir, /vqvae\/diffusion_pytorch_model\.safetensors.*truncated/);
  }, 60_000);

  it('a header whose offsets lie', async () => {
    need();
    const dir = broken((d) => {
      const file = join(d, VQ);
      const ts = readTensors(file);
      const json: Record<string, unknown> = { __metadata__: { format: 'pt' } };
      let at = 0;
      for (const t of ts) {
        const end = at + t.data.byteLength;
        json[t.name] = {
          dtype: t.dtype,
          shape: t.shape,
          data_offsets: t.name === TENSOR ? [at, end - 4] : [at, end],
        };
        at = end;
      }
      writeFileSync(file, writeSafetensors(ts, {}, JSON.stringify(json)));
    });
    await refused(
      dir,
      new RegExp(
        `diffusion_pytorch_model\\.safetensors: tensor '${TENSOR.replace(/\./g, '\\.')}'.*data_offsets`,
      ),
    );
  }, 60_000);

  it('a missing tensor', async () => {
    need();
    const dir = broken((d) => rewrite(d, (ts) => ts.filter((t) => t.name !== TENSOR)));
    await refused(
      dir,
      new RegExp(
        `vqvae: the checkpoint has no tensor '${TENSOR.replace(/\./g, '\\.')}', which fp32/vq_decode needs`,
      ),
    );
  }, 60_000);

  it('a wrong shape', async () => {
    need();
    const dir = broken((d) =>
      rewrite(d, (ts) => ts.map((t) => (t.name === TENSOR ? { ...t, shape: [8, 32, 3, 3] } : t))),
    );
    await refused(dir, /vqvae\/decoder\.conv_in\.weight has shape \[8, 32, 3, 3\].*expects \[32, 8, 3, 3\]/);
  }, 60_000);

  it('a wrong dtype', async () => {
    need();
    const dir = broken((d) =>
      rewrite(d, (ts) => ts.map((t) => (t.name === TENSOR ? { ...t, dtype: 'I32' } : t))),
    );
    await refused(dir, /tensor 'decoder\.conv_in\.weight' is I32; .*needs a float tensor/);
  }, 60_000);

  it('NaN and Inf weights', async () => {
    need();
    for (const bad of [NaN, Infinity]) {
      const dir = broken((d) =>
        rewrite(d, (ts) =>
          ts.map((t) => {
            if (t.name !== TENSOR) return t;
            const data = t.data.slice();
            new DataView(data.buffer).setFloat32(40, bad, true);
            return { ...t, data };
          }),
        ),
      );
      await refused(
        dir,
        new RegExp(`tensor 'decoder\\.conv_in\\.weight': value 10 is ${bad}; a weight must be finite`),
      );
    }
  }, 60_000);

  it('a config that does not match the templates', async () => {
    need();
    const dir = broken((d) => {
      const file = join(d, 'editmgt/config.json');
      const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      config['num_layers'] = 3;
      writeFileSync(file, JSON.stringify(config));
    });
    await refused(
      dir,
      /editmgt\/config\.json num_layers is 3, but the templates .* are for 2 \(config\.transformer\.num_layers\)/,
    );
  }, 60_000);

  it('an interrupted conversion: no package, no temporary folder', async () => {
    need();
    const out = join(root, 'bad', 'aborted');
    const controller = new AbortController();
    const seen: string[] = [];
    const done = convert('single', out, DTYPES, controller.signal, (line) => {
      seen.push(line);
      if (line.startsWith('q4/text_llm ')) controller.abort(new Error('stopped by the test'));
    });
    await expect(done).rejects.toThrow('stopped by the test');
    expect(seen.some((l) => l.startsWith('q4/text_llm '))).toBe(true);
    expect(seen.some((l) => l.startsWith('q8/text_clip '))).toBe(false);
    expectNothingLeft(out);
  }, 60_000);
});
