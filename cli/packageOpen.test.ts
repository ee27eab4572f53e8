/**
 * The engine's package opener on onnxruntime-node (the library and the CLI) with real, tampered
 * copies of the tiny package: graphs that do not match their manifest, config shapes and token
 * tables that do not fit the graphs, graph references the manifest does not list, and damaged
 * files whose checksums match are refused at load, naming the graph, file or field; the
 * manifest's tokenizer padding is used.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../src/engine/index';
import {
  cpuOptions,
  Editor,
  folderSource,
  packageSource,
  readManifest,
} from '../src/engine/runtime/node/index';
import { hasTiny, TINY } from '../src/engine/runtime/node/internal';
import { main } from './edit';

const dir = mkdtempSync(join(tmpdir(), 'editmgt-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Writable<T> = { -readonly [K in keyof T]: Writable<T[K]> };

/** A copy of the tiny package, its manifest edited by `edit`, its files' checksums brought up to date. */
function copyTiny(name: string, edit: (m: Writable<Manifest>, folder: string) => void): string {
  const copy = join(dir, name);
  cpSync(TINY, copy, { recursive: true });
  const m = JSON.parse(readFileSync(join(copy, 'manifest.json'), 'utf8')) as Writable<Manifest>;
  edit(m, copy);
  for (const f of m.files) {
    const bytes = readFileSync(join(copy, f.path));
    f.bytes = bytes.length;
    f.sha256 = createHash('sha256').update(bytes).digest('hex');
  }
  writeFileSync(join(copy, 'manifest.json'), JSON.stringify(m));
  return copy;
}

describe.skipIf(!hasTiny)('graphs whose weights are in several external-data chunks', () => {
  it('load and run, and a missing or damaged chunk is refused by name', async () => {
    const tiny = readManifest(TINY);
    const step = tiny.dtypes.fp32!.graphs.transformer_step;
    expect(step.external_data!.length).toBeGreaterThanOrEqual(2); // the tiny package uses small chunks on purpose
    const pkg = await Editor.open(packageSource(TINY), cpuOptions('fp32'));
    try {
      const result = await pkg.engine.edit({
        image: { width: 8, height: 8, data: new Uint8ClampedArray(256).fill(200) },
        prompt: 'make it red',
        steps: 2,
        seed: 1,
      });
      expect(result.tokens.length).toBe(pkg.spec.tokenGrid.h * pkg.spec.tokenGrid.w);
    } finally {
      await pkg.runner.release();
    }
    const last = step.external_data!.at(-1)!;
    const missing = join(dir, 'missing-chunk');
    cpSync(TINY, missing, { recursive: true });
    rmSync(join(missing, last));
    await expect(Editor.open(packageSource(missing), cpuOptions('fp32'))).rejects.toThrow(
      `model file ${last} is missing`,
    );
    const damaged = join(dir, 'damaged-chunk');
    cpSync(TINY, damaged, { recursive: true });
    const bytes = readFileSync(join(damaged, last));
    bytes[0]! ^= 0xff;
    writeFileSync(join(damaged, last), bytes);
    await expect(Editor.open(packageSource(damaged), cpuOptions('fp32'))).rejects.toThrow(
      new RegExp(`model file ${last.replace(/\./g, '\\.')} has sha256`),
    );
  });
});

describe.skipIf(!hasTiny)('the folder file source', () => {
  it('reads a whole file or a byte range of it', async () => {
    const tiny = readManifest(TINY);
    const chunk = tiny.files.find(
      (f) => f.path === tiny.dtypes.fp32!.graphs.transformer_step.external_data![1],
    )!;
    const source = folderSource(TINY);
    const whole = await source.read(chunk);
    expect(whole.length).toBe(chunk.bytes);
    expect([...(await source.read(chunk, { start: 100, end: 164 }))]).toEqual([...whole.subarray(100, 164)]);
    expect(await source.graphData(chunk)).toBe(join(TINY, chunk.path));
  });
});

describe.skipIf(!hasTiny)('opening a package checks every graph against its manifest', () => {
  it('refuses swapped graph files, naming the graph and what differs', async () => {
    // The graph files trade places; each still finds its own external data (named by file name),
    // which the manifest lists under the graph's new place.
    const swapped = copyTiny('swapped', (m, folder) => {
      const [a, b] = [join(folder, 'fp32', 'vq_encode.onnx'), join(folder, 'fp32', 'vq_decode.onnx')];
      renameSync(a, `${a}.tmp`);
      renameSync(b, a);
      renameSync(`${a}.tmp`, b);
      const graphs = m.dtypes.fp32!.graphs;
      [graphs.vq_encode.external_data, graphs.vq_decode.external_data] = [
        graphs.vq_decode.external_data,
        graphs.vq_encode.external_data,
      ];
    });
    await expect(Editor.open(packageSource(swapped), cpuOptions('fp32'))).rejects.toThrow(
      "model graph vq_encode does not match its manifest: input 'pixels' is missing",
    );
  });

  it('refuses a package whose manifest declares another grid than its step graph has', async () => {
    const regrid = copyTiny('regrid', (m) => {
      const tokens = m.graphs.transformer_step.inputs.find((t) => t.name === 'tokens')!;
      tokens.shape = [1, 2 * (tokens.shape[1] as number), 2 * (tokens.shape[2] as number)];
    });
    // the declaration disagrees with the config's grid before any graph is opened
    await expect(Editor.open(packageSource(regrid), cpuOptions('fp32'))).rejects.toThrow(
      "manifest config.resolutions.64.token_grid: [16, 16] disagrees with the graphs: transformer_step input 'tokens' has shape [1, 32, 32]",
    );
  });

  it('opens the unchanged copy, and pads text with the manifest’s pad id', async () => {
    const same = copyTiny('same', (m) => {
      m.tokenizers.llm.pad_id = 3; // the tokenizer files say otherwise; the manifest wins
    });
    const pkg = await Editor.open(packageSource(same), cpuOptions('fp32'));
    try {
      const enc = pkg.tokenizers.llm.encode('a', pkg.spec.llm.maxLength);
      expect(enc.ids[enc.ids.length - 1]).toBe(3);
      expect(enc.attentionMask[enc.ids.length - 1]).toBe(0);
    } finally {
      await pkg.runner.release();
    }
  });
});

/** The CLI (`npm run edit`) on a package folder: its exit code and the lines it printed. */
async function cliEdit(model: string): Promise<{ code: number; text: string }> {
  const image = join(dir, 'cli-in.png');
  const png = new PNG({ width: 16, height: 16 });
  png.data.fill(200);
  writeFileSync(image, PNG.sync.write(png));
  const lines: string[] = [];
  const out = join(dir, `cli-out-${Math.random().toString(16).slice(2)}.png`);
  const args = ['--image', image, '--prompt', 'make it red', '--out', out, '--steps', '2'];
  const code = await main([...args, '--model', model, '--dtype', 'fp32', '--quiet'], (l) => lines.push(l));
  return { code, text: lines.join('\n') };
}

const TABLE = 'fp32/text_llm.table';
const tableOf = (m: Writable<Manifest>) => m.dtypes.fp32!.graphs.text_llm.token_table!;

describe.skipIf(!hasTiny)('a package that cannot edit is refused at load, naming the field', () => {
  it('a token grid in config.resolutions that the graphs do not have (library and CLI)', async () => {
    const grid = copyTiny('grid32', (m) => {
      m.config.resolutions['64']!.token_grid = [32, 32];
    });
    const message =
      "manifest config.resolutions.64.token_grid: [32, 32] disagrees with the graphs: vq_encode output 'ids' has shape [1, 16, 16]";
    await expect(Editor.open(packageSource(grid), cpuOptions('fp32'))).rejects.toThrow(message);
    const cli = await cliEdit(grid);
    expect(cli.code).toBe(2);
    expect(cli.text).toContain(message);
  });

  it('a token table whose rows are not as wide as the graph takes, or whose row bytes are false', async () => {
    const narrow = copyTiny('table-narrow', (m) => {
      Object.assign(tableOf(m), { dim: 16, row_bytes: 64, rows: 770 }); // the same bytes, read as 770 rows of 16
    });
    await expect(Editor.open(packageSource(narrow), cpuOptions('fp32'))).rejects.toThrow(
      'manifest dtypes.fp32.graphs.text_llm.token_table.dim: 16 values a row, but the text_llm graph takes inputs_embeds of width 32 (shape [batch, 256, 32])',
    );
    const rowBytes = copyTiny('table-row-bytes', (m) => {
      Object.assign(tableOf(m), { row_bytes: 64, rows: 770 });
    });
    await expect(Editor.open(packageSource(rowBytes), cpuOptions('fp32'))).rejects.toThrow(
      'manifest dtypes.fp32.graphs.text_llm.token_table.row_bytes: float32 rows of 32 values take 128 bytes, not 64',
    );
  });

  it('no token table: none declared, or its file missing', async () => {
    const undeclared = copyTiny('table-undeclared', (m) => {
      delete (m.dtypes.fp32!.graphs.text_llm as { token_table?: unknown }).token_table;
    });
    await expect(Editor.open(packageSource(undeclared), cpuOptions('fp32'))).rejects.toThrow(
      'manifest dtypes.fp32.graphs.text_llm.token_table: missing: the text_llm graph takes inputs_embeds, so the package needs its token table',
    );
    const gone = copyTiny('table-gone', () => undefined);
    rmSync(join(gone, TABLE));
    await expect(Editor.open(packageSource(gone), cpuOptions('fp32'))).rejects.toThrow(
      `model file ${TABLE} is missing`,
    );
  });

  it('a token table with fewer rows than the tokenizer has ids (a 10-row table)', async () => {
    const short = copyTiny('table-10-rows', (m, folder) => {
      const t = tableOf(m);
      writeFileSync(join(folder, TABLE), readFileSync(join(folder, TABLE)).subarray(0, 10 * t.row_bytes));
      t.rows = 10;
    });
    await expect(Editor.open(packageSource(short), cpuOptions('fp32'))).rejects.toThrow(
      'manifest dtypes.fp32.graphs.text_llm.token_table.rows: the token table fp32/text_llm.table has 10 rows, but the tokenizer tokenizer_llm/tokenizer.json has 385 token ids',
    );
  });

  it('a token table full of NaN (it used to edit; library and CLI)', async () => {
    const nan = copyTiny('table-nan', (_, folder) => {
      const bytes = readFileSync(join(folder, TABLE));
      writeFileSync(join(folder, TABLE), new Uint8Array(new Float32Array(bytes.length / 4).fill(NaN).buffer));
    });
    const message =
      'manifest dtypes.fp32.graphs.text_llm.token_table: row 0 of the token table fp32/text_llm.table holds NaN';
    await expect(Editor.open(packageSource(nan), cpuOptions('fp32'))).rejects.toThrow(message);
    const cli = await cliEdit(nan);
    expect(cli.code).toBe(2);
    expect(cli.text).toContain(message);
    // one bad row far from the first is found too (the sample takes the last row)
    const last = copyTiny('table-inf-last', (m, folder) => {
      const bytes = readFileSync(join(folder, TABLE));
      bytes.writeFloatLE(Infinity, bytes.length - 4);
      writeFileSync(join(folder, TABLE), bytes);
      void m;
    });
    await expect(Editor.open(packageSource(last), cpuOptions('fp32'))).rejects.toThrow(
      'row 384 of the token table fp32/text_llm.table holds Infinity',
    );
  });
});

const STEP = 'fp32/transformer_step.onnx';
const CHUNK_1 = `${STEP}.data_1`;

/** The tiny package with transformer_step's second chunk left out of its external_data, then byte-flipped. */
function unlistedChunk(name: string): string {
  const copy = copyTiny(name, (m) => {
    const step = m.dtypes.fp32!.graphs.transformer_step;
    step.external_data = step.external_data!.filter((p) => p !== CHUNK_1);
  });
  const bytes = readFileSync(join(copy, CHUNK_1));
  bytes[100]! ^= 0xff;
  writeFileSync(join(copy, CHUNK_1), bytes);
  return copy;
}

const UNLISTED =
  /model graph transformer_step \(fp32\/transformer_step\.onnx\) reads tensor '[^']+' from fp32\/transformer_step\.onnx\.data_1, which the manifest does not list in dtypes\.fp32\.graphs\.transformer_step\.external_data, so it cannot be checked/;

describe.skipIf(!hasTiny)('every file a graph reads is listed in the manifest and verified', () => {
  it('a chunk the graph uses but the manifest leaves out is refused, naming the graph and the file (folder; CLI)', async () => {
    const folder = unlistedChunk('unlisted-chunk');
    await expect(Editor.open(packageSource(folder), cpuOptions('fp32'))).rejects.toThrow(UNLISTED);
    const cli = await cliEdit(folder);
    expect(cli.code).toBe(2); // it used to edit from the flipped chunk and exit 0
    expect(cli.text).toMatch(UNLISTED);
  });

  it('the same package over a URL is refused the same way', async () => {
    const folder = unlistedChunk('unlisted-chunk-url');
    const server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
      try {
        res.writeHead(200).end(readFileSync(join(folder, path)));
      } catch {
        res.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await expect(
        Editor.open(packageSource(`http://127.0.0.1:${port}/`, join(dir, 'url-cache')), cpuOptions('fp32')),
      ).rejects.toThrow(UNLISTED);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe.skipIf(!hasTiny)(
  'a damaged graph whose checksum matched is named, and not worth downloading again',
  () => {
    const again = 'Its size and sha256 match the manifest, so downloading it again will not help';

    it('a truncated graph file', async () => {
      const cut = copyTiny('graph-truncated', (_, folder) => {
        const path = join(folder, 'fp32', 'vq_decode.onnx');
        const bytes = readFileSync(path);
        writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
      });
      const err = await Editor.open(packageSource(cut), cpuOptions('fp32')).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(
        /^model graph vq_decode: fp32\/vq_decode\.onnx is not a valid ONNX graph \(.+ at byte \d+; it may be truncated\)\. /,
      );
      expect(err?.message).toContain(again);
    });

    it('a graph whose framing holds but whose content the runtime refuses (an operator renamed)', async () => {
      const garbled = copyTiny('graph-garbled', (_, folder) => {
        const path = join(folder, STEP);
        const bytes = readFileSync(path);
        const at = bytes.indexOf(Buffer.from('\x22\x06MatMul', 'latin1'));
        bytes.write('X', at + 7, 'latin1'); // op_type "MatMul" -> "MatMuX", same length
        writeFileSync(path, bytes);
      });
      const err = await Editor.open(packageSource(garbled), cpuOptions('fp32')).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(
        /^model graph transformer_step: fp32\/transformer_step\.onnx cannot be loaded by the runtime \(.*No Op registered for MatMuX.*\)\. /,
      );
      expect(err?.message).toContain(again);
    });

    it('a chunk that does not fit its graph (too short for the tensors it holds)', async () => {
      const short = copyTiny('chunk-short', (_, folder) => {
        const path = join(folder, CHUNK_1);
        writeFileSync(path, readFileSync(path).subarray(0, 1000));
      });
      const err = await Editor.open(packageSource(short), cpuOptions('fp32')).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(
        /^model graph transformer_step: fp32\/transformer_step\.onnx\.data_1 does not fit the graph: tensor '[^']+' takes bytes \d+–\d+ and the file has 1000\. /,
      );
      expect(err?.message).toContain(again);
    });
  },
);
