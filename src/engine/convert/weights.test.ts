/**
 * One subfolder's weights in each layout the hub uses: single file, shards with an index, shards
 * without one, variant files beside the full-precision ones, a variant alone, pickles alone; and
 * the LLM's naming rules (the `model.` prefix, tied embeddings).
 */
import { describe, expect, it } from 'vitest';
import { memorySource } from './byteSource';
import { llmWeightNames } from './checkpoint';
import { classifyWeightFile, openWeights } from './weights';
import { fp16ToFloat32 } from './halfFloat';
import { f16Bytes, f32Bytes, writeSafetensors } from './testing/safetensorsWriter';

const enc = (s: string) => new TextEncoder().encode(s);
/** values an fp16 copy cannot hold exactly, so a test sees which file was read */
const A = [1 / 3, 2 / 3, 0.1, 1e-3];
const B = [5, 6, 7, 8, 9, 10];
const f32 = (name: string, values: number[], shape = [values.length]) => ({
  name,
  dtype: 'F32',
  shape,
  data: f32Bytes(values),
});
const f16 = (name: string, values: number[], shape = [values.length]) => ({
  name,
  dtype: 'F16',
  shape,
  data: f16Bytes(values),
});
const index = (map: Record<string, string>) =>
  enc(JSON.stringify({ metadata: { total_size: 0 }, weight_map: map }));

async function read(files: Record<string, Uint8Array>, sub = 'vqvae', variant?: string) {
  const w = await openWeights(memorySource('ckpt', files), sub, { variant });
  return { w, a: Array.from(await w.readFloat32('a')) };
}
const asF32 = (v: number[]) => Array.from(Float32Array.from(v));

describe('file names', () => {
  it('variants and shards are told apart', () => {
    expect(classifyWeightFile('model.safetensors')).toEqual({ kind: 'weights', stem: 'model', variant: '' });
    expect(classifyWeightFile('model-00001-of-00002.safetensors')).toEqual({
      kind: 'weights',
      stem: 'model',
      variant: '',
      shard: { part: 1, of: 2 },
    });
    expect(classifyWeightFile('diffusion_pytorch_model.fp16.safetensors')?.variant).toBe('fp16');
    expect(classifyWeightFile('model.fp16-00001-of-00002.safetensors')?.variant).toBe('fp16');
    expect(classifyWeightFile('diffusion_pytorch_model-00001-of-00002.fp16.safetensors')?.variant).toBe(
      'fp16',
    );
    expect(classifyWeightFile('model.safetensors.index.json')).toEqual({
      kind: 'index',
      stem: 'model',
      variant: '',
    });
    expect(classifyWeightFile('model.safetensors.index.fp16.json')).toEqual({
      kind: 'index',
      stem: 'model',
      variant: 'fp16',
    });
    expect(classifyWeightFile('model.fp16.safetensors.index.json')).toEqual({
      kind: 'index',
      stem: 'model',
      variant: 'fp16',
    });
    expect(classifyWeightFile('config.json')).toBeUndefined();
  });
});

describe('weights of a subfolder', () => {
  it('a single file', async () => {
    const { w, a } = await read({
      'vqvae/diffusion_pytorch_model.safetensors': writeSafetensors([f32('a', A), f32('b', B, [2, 3])]),
    });
    expect(a).toEqual(asF32(A));
    expect(w.names()).toEqual(['a', 'b']);
    expect(w.tensor('b')).toMatchObject({
      dtype: 'F32',
      shape: [2, 3],
      file: 'vqvae/diffusion_pytorch_model.safetensors',
    });
    expect(Array.from(await w.readRows('b', 1, 2))).toEqual([8, 9, 10]);
    expect(w.variant).toBeUndefined();
    await expect(w.readFloat32('c')).rejects.toThrow("ckpt/vqvae: the checkpoint has no tensor 'c'");
  });

  for (const stem of ['model', 'diffusion_pytorch_model']) {
    it(`shards with ${stem}.safetensors.index.json: the index decides which file holds which tensor`, async () => {
      // shard 2 also holds a stale copy of 'a'; the index says shard 1's is the one
      const { w, a } = await read({
        [`vqvae/${stem}-00001-of-00002.safetensors`]: writeSafetensors([f32('a', A)]),
        [`vqvae/${stem}-00002-of-00002.safetensors`]: writeSafetensors([f32('a', [9, 9, 9, 9]), f32('b', B)]),
        [`vqvae/${stem}.safetensors.index.json`]: index({
          a: `${stem}-00001-of-00002.safetensors`,
          b: `${stem}-00002-of-00002.safetensors`,
        }),
      });
      expect(a).toEqual(asF32(A));
      expect(Array.from(await w.readFloat32('b'))).toEqual(B);
      expect(w.files).toEqual([
        `vqvae/${stem}-00001-of-00002.safetensors`,
        `vqvae/${stem}-00002-of-00002.safetensors`,
      ]);
    });
  }

  it('a tensor the index names but its shard lacks, or a shard the folder lacks, is an error', async () => {
    const shard = { 'vqvae/model-00001-of-00001.safetensors': writeSafetensors([f32('a', A)]) };
    await expect(
      read({
        ...shard,
        'vqvae/model.safetensors.index.json': index({
          a: 'model-00001-of-00001.safetensors',
          b: 'model-00001-of-00001.safetensors',
        }),
      }),
    ).rejects.toThrow(
      "ckpt/vqvae/model.safetensors.index.json puts tensor 'b' in model-00001-of-00001.safetensors, but model-00001-of-00001.safetensors has no such tensor",
    );
    await expect(
      read({
        ...shard,
        'vqvae/model.safetensors.index.json': index({ a: 'model-00002-of-00002.safetensors' }),
      }),
    ).rejects.toThrow("puts tensor 'a' in model-00002-of-00002.safetensors, which the folder does not have");
    await expect(
      read({ ...shard, 'vqvae/model.safetensors.index.json': enc('{"metadata": {}}') }),
    ).rejects.toThrow('has no weight_map object');
  });

  it('shards without an index are read together; a tensor in two of them is an error, not "last one wins"', async () => {
    const { w } = await read({
      'vqvae/model-00001-of-00002.safetensors': writeSafetensors([f32('a', A)]),
      'vqvae/model-00002-of-00002.safetensors': writeSafetensors([f32('b', B)]),
    });
    expect(w.names()).toEqual(['a', 'b']);
    await expect(
      read({
        'vqvae/model-00001-of-00002.safetensors': writeSafetensors([f32('a', A)]),
        'vqvae/model-00002-of-00002.safetensors': writeSafetensors([f32('a', A), f32('b', B)]),
      }),
    ).rejects.toThrow(
      "ckpt/vqvae: tensor 'a' is in both model-00001-of-00002.safetensors and model-00002-of-00002.safetensors",
    );
  });

  it('without an index: every shard must be there, of one model, and not beside a single file', async () => {
    const s = (t: ReturnType<typeof f32>[]) => writeSafetensors(t);
    await expect(
      read({
        'vqvae/model-00001-of-00003.safetensors': s([f32('a', A)]),
        'vqvae/model-00003-of-00003.safetensors': s([f32('b', B)]),
      }),
    ).rejects.toThrow(
      'ckpt/vqvae: shard 2 of 3 is missing (found model-00001-of-00003.safetensors, model-00003-of-00003.safetensors)',
    );
    await expect(
      read({
        'vqvae/model.safetensors': s([f32('a', A)]),
        'vqvae/model-00001-of-00001.safetensors': s([f32('b', B)]),
      }),
    ).rejects.toThrow(
      'ckpt/vqvae has both model.safetensors and shards (model-00001-of-00001.safetensors, …) and no index saying which to read',
    );
    await expect(
      read({
        'vqvae/model.safetensors': s([f32('a', A)]),
        'vqvae/diffusion_pytorch_model.safetensors': s([f32('b', B)]),
      }),
    ).rejects.toThrow(
      'ckpt/vqvae holds the weights of more than one model: diffusion_pytorch_model.safetensors, model.safetensors',
    );
    await expect(
      read({
        'vqvae/model-00001-of-00002.safetensors': s([f32('a', A)]),
        'vqvae/model-00002-of-00003.safetensors': s([f32('b', B)]),
      }),
    ).rejects.toThrow('ckpt/vqvae: shards of different counts');
  });

  it('fp16 variant files beside the full-precision ones are ignored (single and sharded)', async () => {
    const variantFiles = {
      'vqvae/model.fp16.safetensors': writeSafetensors([f16('a', A)]),
      'vqvae/model.fp16-00001-of-00001.safetensors': writeSafetensors([f16('a', A)]),
      'vqvae/model.safetensors.index.fp16.json': index({ a: 'model.fp16-00001-of-00001.safetensors' }),
      'vqvae/model.fp16.safetensors.index.json': index({ a: 'model.fp16-00001-of-00001.safetensors' }),
    };
    const single = await read({
      ...variantFiles,
      'vqvae/model.safetensors': writeSafetensors([f32('a', A)]),
    });
    expect(single.a).toEqual(asF32(A));
    expect(single.w.files).toEqual(['vqvae/model.safetensors']);
    const sharded = await read({
      ...variantFiles,
      'vqvae/model-00001-of-00001.safetensors': writeSafetensors([f32('a', A)]),
      'vqvae/model.safetensors.index.json': index({ a: 'model-00001-of-00001.safetensors' }),
    });
    expect(sharded.a).toEqual(asF32(A));
    expect(sharded.w.variant).toBeUndefined();
  });

  it('a folder with only a variant is read as that variant; several variants need a choice', async () => {
    const only = await read({ 'vqvae/model.fp16.safetensors': writeSafetensors([f16('a', A)]) });
    expect(only.w.variant).toBe('fp16');
    expect(only.a).toEqual(Array.from(fp16ToFloat32(f16Bytes(A))));
    expect(only.a).not.toEqual(asF32(A)); // the fp16 copy's values, not the fp32 ones
    const two = {
      'vqvae/model.fp16.safetensors': writeSafetensors([f16('a', A)]),
      'vqvae/model.bf16.safetensors': writeSafetensors([f32('a', A)]),
    };
    await expect(read(two)).rejects.toThrow(
      'ckpt/vqvae has only variant weights, of several variants (bf16, fp16): say which one to read',
    );
    expect((await read(two, 'vqvae', 'bf16')).a).toEqual(asF32(A));
    await expect(read(two, 'vqvae', 'fp8')).rejects.toThrow(
      "ckpt/vqvae has no 'fp8' variant (it has: bf16, fp16)",
    );
  });

  it('a folder with only pickle weights is refused, never unpickled', async () => {
    await expect(
      read({
        'vqvae/config.json': enc('{}'),
        'vqvae/diffusion_pytorch_model.bin': enc('PK\u0003\u0004 not read'),
      }),
    ).rejects.toThrow(
      'ckpt/vqvae holds only PyTorch pickle weights (diffusion_pytorch_model.bin) and no .safetensors files; pickles are never loaded',
    );
    await expect(read({ 'vqvae/config.json': enc('{}') })).rejects.toThrow(
      'ckpt/vqvae has no .safetensors weights',
    );
  });

  it('only the subfolder itself is read, not its neighbours or subfolders', async () => {
    const { w } = await read({
      'vqvae/model.safetensors': writeSafetensors([f32('a', A)]),
      'vqvae/old/model.safetensors': writeSafetensors([f32('z', A)]),
      'vqvae2/model.safetensors': writeSafetensors([f32('y', A)]),
    });
    expect(w.names()).toEqual(['a']);
  });
});

describe('LLM weight names', () => {
  const emb = [1, 2, 3, 4, 5, 6];
  const open = async (tensors: ReturnType<typeof f32>[], config: Record<string, unknown>) =>
    llmWeightNames(
      await openWeights(
        memorySource('ckpt', { 'llm_encoder/model.safetensors': writeSafetensors(tensors) }),
        'llm_encoder',
      ),
      config,
    );

  it('tied embeddings: lm_head.weight is the embedding table (tie_word_embeddings true or absent)', async () => {
    for (const config of [{}, { tie_word_embeddings: true }]) {
      const w = await open(
        [f32('model.embed_tokens.weight', emb, [3, 2]), f32('model.norm.weight', [1, 1])],
        config,
      );
      expect(w.has('lm_head.weight')).toBe(true);
      expect(Array.from(await w.readFloat32('lm_head.weight'))).toEqual(emb);
      expect(w.tensor('lm_head.weight')).toMatchObject({
        name: 'lm_head.weight',
        shape: [3, 2],
        file: 'llm_encoder/model.safetensors',
      });
      expect(w.names()).toEqual(['lm_head.weight', 'model.embed_tokens.weight', 'model.norm.weight']);
    }
  });

  it('untied: a missing lm_head.weight stays missing', async () => {
    const w = await open([f32('model.embed_tokens.weight', emb, [3, 2])], { tie_word_embeddings: false });
    expect(w.has('lm_head.weight')).toBe(false);
    await expect(w.readFloat32('lm_head.weight')).rejects.toThrow(
      "ckpt/llm_encoder: the checkpoint has no tensor 'lm_head.weight'",
    );
  });

  it('a bare model saved without the model. prefix is read under the prefixed names', async () => {
    const w = await open([f32('embed_tokens.weight', emb, [3, 2]), f32('norm.weight', [1, 1])], {});
    expect(w.names()).toEqual(['lm_head.weight', 'model.embed_tokens.weight', 'model.norm.weight']);
    expect(Array.from(await w.readFloat32('model.embed_tokens.weight'))).toEqual(emb);
    expect(Array.from(await w.readRows('lm_head.weight', 2, 3))).toEqual([5, 6]);
    expect(w.has('embed_tokens.weight')).toBe(false);
  });
});
