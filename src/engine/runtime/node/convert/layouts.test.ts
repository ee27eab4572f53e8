/**
 * Every hub layout of the tiny checkpoint, made by the project's own random-checkpoint builder
 * (`python -m editmgt_export layouts`, tools/export/editmgt_export/layouts.py), read by the
 * checkpoint reader from a folder, and the trickiest ones also through the hub source:
 * - `sharded`, `variant` (fp16 files beside fp32 ones), `tied` (no `model.` prefix, no lm_head) and
 *   `vocab-merges` give the float32 tensors of `single`, bit for bit, under the same names;
 * - `bf16` and `variant-only` (fp16 alone) give the float32 tensors of `rounded` (its weights are
 *   values bf16 and fp16 both hold), bit for bit;
 * - `bin-only` is refused, naming the pickle;
 * - `vocab-merges`' tokenizer.json, padded as the package pads it, is the shipped package's.
 * Compared: every tensor of text_encoder, llm_encoder, vqvae and editmgt, as float32 bits (raw
 * bytes for a non-float tensor). Needs the exporter's venv (tools/export/.venv); without it the
 * test fails and says how to make it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckpointSource } from '../../../convert/byteSource';
import { openCheckpoint } from '../../../convert/checkpoint';
import type { Checkpoint } from '../../../convert/checkpoint';
import { tokenizerJsonText, withFixedLength } from '../../../convert/clipTokenizer';
import { FLOAT_DTYPES } from '../../../convert/safetensors';
import type { CheckpointWeights } from '../../../convert/weights';
import { folderSource } from './folderSource';
import { hubSource } from './hubSource';
import { startHubServer } from './testing/hubServer';
import { makeLayouts } from './testing/layouts';

const REPO = fileURLToPath(new URL('../../../../..', import.meta.url));
const MODELS = ['clip', 'llm', 'vq', 'transformer'] as const;

let out: string;
/** why the layouts could not be made; every test fails with it (a missing venv is no skip) */
let unavailable: Error | undefined;
beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'editmgt-layouts-'));
  unavailable = makeLayouts(out);
}, 300_000);
afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

type Tensors = Map<string, { dtype: string; bits: string }>;

/** every tensor of one model as float32 bits (hex), or its raw bytes when not a float */
async function tensors(w: CheckpointWeights): Promise<Tensors> {
  const all: Tensors = new Map();
  for (const name of w.names()) {
    const t = w.tensor(name);
    const bytes = (FLOAT_DTYPES as readonly string[]).includes(t.dtype)
      ? new Uint8Array((await w.readFloat32(name)).buffer)
      : await w.readBytes(name);
    all.set(name, { dtype: t.dtype, bits: Buffer.from(bytes).toString('hex') });
  }
  return all;
}

async function everything(ckpt: Checkpoint) {
  const models: Record<string, Tensors> = {};
  for (const m of MODELS) models[m] = await tensors(ckpt.weights[m]);
  return models;
}

const open = (layout: string, source?: CheckpointSource) => {
  if (unavailable) throw unavailable;
  return openCheckpoint(source ?? folderSource(join(out, layout)));
};

function expectSame(got: Record<string, Tensors>, want: Record<string, Tensors>, what: string) {
  for (const m of MODELS) {
    expect([...got[m]!.keys()], `${what} ${m} names`).toEqual([...want[m]!.keys()]);
    const differ = [...want[m]!].filter(([n, t]) => got[m]!.get(n)!.bits !== t.bits).map(([n]) => n);
    expect(differ, `${what} ${m}: tensors whose float32 bits differ`).toEqual([]);
  }
}

describe('the tiny checkpoint in every hub layout', () => {
  let single: Record<string, Tensors>;
  let rounded: Record<string, Tensors>;
  beforeAll(async () => {
    if (unavailable) return;
    single = await everything(await open('single'));
    rounded = await everything(await open('rounded'));
  }, 120_000);

  it('the references hold what they should', () => {
    if (unavailable) throw unavailable;
    expect(single['llm']!.has('lm_head.weight')).toBe(true); // tied: the embedding table
    expect(single['llm']!.get('lm_head.weight')!.bits).toBe(
      single['llm']!.get('model.embed_tokens.weight')!.bits,
    );
    expect([...single['transformer']!.values()].every((t) => t.dtype === 'F32')).toBe(true);
    const n = MODELS.reduce((s, m) => s + single[m]!.size, 0);
    expect(n).toBeGreaterThan(100);
    // rounding changed the weights, so a reader mixing up the two would be seen
    expect(single['transformer']!.get([...single['transformer']!.keys()][0]!)!.bits).not.toBe(
      rounded['transformer']!.get([...rounded['transformer']!.keys()][0]!)!.bits,
    );
  });

  for (const layout of ['sharded', 'variant', 'tied', 'vocab-merges']) {
    it(`${layout} gives the float32 tensors of single, bit for bit`, async () => {
      const ckpt = await open(layout);
      expectSame(await everything(ckpt), single, layout);
      for (const m of MODELS) expect(ckpt.weights[m].variant, `${layout} ${m}`).toBeUndefined();
      if (layout === 'sharded' || layout === 'variant')
        expect(ckpt.weights.transformer.files.length, layout).toBeGreaterThan(1);
      if (layout === 'variant')
        expect(MODELS.flatMap((m) => ckpt.weights[m].files).some((f) => f.includes('fp16'))).toBe(false);
    });
  }

  for (const [layout, dtype, variant] of [
    ['bf16', 'BF16', undefined],
    ['variant-only', 'F16', 'fp16'],
  ] as const) {
    it(`${layout} (${dtype}) gives the float32 tensors of rounded, bit for bit`, async () => {
      const ckpt = await open(layout);
      for (const m of MODELS) {
        expect(ckpt.weights[m].variant, `${layout} ${m}`).toBe(variant);
        expect(ckpt.weights[m].tensor(ckpt.weights[m].names()[0]!).dtype, `${layout} ${m}`).toBe(dtype);
      }
      expectSame(await everything(ckpt), rounded, layout);
    });
  }

  it('bin-only is refused, naming the pickle, without reading it', async () => {
    await expect(open('bin-only')).rejects.toThrow(
      `${join(out, 'bin-only')}/text_encoder holds only PyTorch pickle weights (pytorch_model.bin) and no .safetensors files; pickles are never loaded`,
    );
  });

  it("vocab-merges' tokenizer is made from vocab.json + merges.txt, byte for byte the shipped package's", async () => {
    const ckpt = await open('vocab-merges');
    expect(ckpt.tokenizers.clip.layout).toBe('vocab.json+merges.txt');
    const padded = withFixedLength(ckpt.tokenizers.clip.made!, {
      maxLength: 77,
      padId: 591,
      padToken: '<|endoftext|>',
      side: 'right',
    });
    expect(tokenizerJsonText(padded)).toBe(
      readFileSync(join(REPO, 'public/models/tiny-random/tokenizer_clip/tokenizer.json'), 'utf8'),
    );
    expect((await open('single')).tokenizers.clip.layout).toBe('tokenizer.json');
  });

  for (const layout of ['variant', 'tied']) {
    it(`${layout} through the hub source (hf:, local server) gives the same tensors as from the folder`, async () => {
      if (unavailable) throw unavailable;
      const server = await startHubServer({ root: join(out, layout), repo: 'owner/tiny', lfsMinBytes: 4096 });
      try {
        const src = await hubSource('hf:owner/tiny', { env: { HF_ENDPOINT: server.endpoint } });
        const ckpt = await open(layout, src);
        expectSame(await everything(ckpt), single, `hf ${layout}`);
        expect(server.requests.some((r) => r.server === 'storage' && r.status === 206)).toBe(true);
        // variant files are never fetched, and nothing is read twice: at most the other files' bytes
        // (plus the embedding table, which the test reads again as the tied lm_head.weight)
        const resolved = server.requests.filter((r) => r.url.includes('/resolve/')).map((r) => r.url);
        expect(resolved.filter((u) => u.includes('fp16'))).toEqual([]);
        const others = (await src.list()).filter((f) => !f.includes('fp16'));
        let total = 0;
        for (const f of others) total += (await src.open(f)).size;
        const again = ckpt.weights.llm.tensor('lm_head.weight');
        expect(src.bytesRead()).toBeLessThanOrEqual(total + again.end - again.begin);
      } finally {
        await server.close();
      }
    });
  }
});
