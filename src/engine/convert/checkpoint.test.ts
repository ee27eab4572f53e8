/**
 * openCheckpoint's own checks (the subfolders, configs and the scheduler's mask id), over a
 * checkpoint held in memory; the layouts themselves are tested in weights.test.ts and, on the
 * exporter's real layouts, in runtime/node/convert/layouts.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { memorySource } from './byteSource';
import { openCheckpoint } from './checkpoint';
import { f32Bytes, writeSafetensors } from './testing/safetensorsWriter';

const enc = (s: string) => new TextEncoder().encode(s);
const weights = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: f32Bytes([1, 2]) }]);
const tokenizer = enc('{"version": "1.0", "model": {"type": "BPE"}}');

function files(drop: string[] = [], extra: Record<string, Uint8Array> = {}): Record<string, Uint8Array> {
  const all: Record<string, Uint8Array> = {
    'tokenizer/tokenizer.json': tokenizer,
    'text_encoder/config.json': enc('{}'),
    'text_encoder/model.safetensors': weights,
    'llm_encoder/config.json': enc('{"tie_word_embeddings": true}'),
    'llm_encoder/model.safetensors': weights,
    'llm_encoder/tokenizer.json': tokenizer,
    'vqvae/config.json': enc('{}'),
    'vqvae/diffusion_pytorch_model.safetensors': weights,
    'transformer/config.json': enc('{}'),
    'transformer/diffusion_pytorch_model.safetensors': weights,
    'scheduler/scheduler_config.json': enc('{"mask_token_id": 8255}'),
    ...extra,
  };
  for (const d of drop) for (const k of Object.keys(all)) if (k === d || k.startsWith(`${d}/`)) delete all[k];
  return all;
}
const open = (f: Record<string, Uint8Array>) => openCheckpoint(memorySource('ckpt', f));

describe('openCheckpoint', () => {
  it('opens every part: configs, weights, tokenizers; transformer/ stands in for editmgt/', async () => {
    const c = await open(files());
    expect(c.transformerSubfolder).toBe('transformer');
    expect(c.configs.scheduler['mask_token_id']).toBe(8255);
    expect(c.weights.llm.names()).toEqual(['model.w']); // saved without the prefix: read under it
    expect(Array.from(await c.weights.transformer.readFloat32('w'))).toEqual([1, 2]);
    expect(c.tokenizers.llm.layout).toBe('tokenizer.json');
  });

  it('editmgt/ wins over transformer/ when both are there', async () => {
    const c = await open(
      files([], { 'editmgt/config.json': enc('{}'), 'editmgt/model.safetensors': weights }),
    );
    expect(c.transformerSubfolder).toBe('editmgt');
  });

  it('a missing subfolder, config or mask id is named', async () => {
    await expect(open(files(['vqvae']))).rejects.toThrow("checkpoint ckpt has no 'vqvae' subfolder");
    await expect(open(files(['transformer']))).rejects.toThrow(
      "checkpoint ckpt has no 'editmgt' (or 'transformer') subfolder",
    );
    await expect(open(files(['vqvae/config.json']))).rejects.toThrow(
      'checkpoint ckpt has no vqvae/config.json',
    );
    await expect(open(files([], { 'scheduler/scheduler_config.json': enc('{}') }))).rejects.toThrow(
      'ckpt/scheduler/scheduler_config.json has no mask_token_id',
    );
    await expect(open(files([], { 'vqvae/config.json': enc('{"a": ') }))).rejects.toThrow(
      'ckpt/vqvae/config.json is not valid JSON',
    );
  });
});
