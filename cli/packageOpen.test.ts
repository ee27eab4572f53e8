/**
 * The engine's package opener on onnxruntime-node with a real package: graphs that do not match
 * their manifest are refused at load, naming the graph; the manifest's tokenizer padding is used.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../src/engine/manifest';
import { readManifest } from '../src/engine/runtime/node/manifestFile';
import { folderSource, openPackage } from '../src/engine/runtime/node/modelPackage';
import { hasTiny, TINY } from './testModel';

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
    const pkg = await openPackage(TINY, 'fp32');
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
    await expect(openPackage(missing, 'fp32')).rejects.toThrow(`model file ${last} is missing`);
    const damaged = join(dir, 'damaged-chunk');
    cpSync(TINY, damaged, { recursive: true });
    const bytes = readFileSync(join(damaged, last));
    bytes[0]! ^= 0xff;
    writeFileSync(join(damaged, last), bytes);
    await expect(openPackage(damaged, 'fp32')).rejects.toThrow(
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
    await expect(openPackage(swapped, 'fp32')).rejects.toThrow(
      "model graph vq_encode does not match its manifest: input 'pixels' is missing",
    );
  });

  it('refuses a package whose manifest declares another grid than its step graph has', async () => {
    const regrid = copyTiny('regrid', (m) => {
      const tokens = m.graphs.transformer_step.inputs.find((t) => t.name === 'tokens')!;
      tokens.shape = [1, 2 * (tokens.shape[1] as number), 2 * (tokens.shape[2] as number)];
    });
    // the declaration disagrees with the config's grid before any graph is opened
    await expect(openPackage(regrid, 'fp32')).rejects.toThrow(
      "manifest config.resolutions.64.token_grid: [16, 16] disagrees with the graphs: transformer_step input 'tokens' has shape [1, 32, 32]",
    );
  });

  it('opens the unchanged copy, and pads text with the manifest’s pad id', async () => {
    const same = copyTiny('same', (m) => {
      m.tokenizers.llm.pad_id = 3; // the tokenizer files say otherwise; the manifest wins
    });
    const pkg = await openPackage(same, 'fp32');
    try {
      const enc = pkg.tokenizers.llm.encode('a', pkg.spec.llm.maxLength);
      expect(enc.ids[enc.ids.length - 1]).toBe(3);
      expect(enc.attentionMask[enc.ids.length - 1]).toBe(0);
    } finally {
      await pkg.runner.release();
    }
  });
});
