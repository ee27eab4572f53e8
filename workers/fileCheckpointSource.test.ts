import { describe, expect, it } from 'vitest';
import { CheckpointError, readText } from '../src/engine/internal';
import { fileCheckpointSource } from './fileCheckpointSource';

const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 2654435761) >>> 24);

/** A File whose reads fail, as Chromium's does once the file on disk changed after it was chosen. */
class ChangedFile extends File {
  override slice(): Blob {
    const blob = new Blob([]);
    blob.arrayBuffer = () =>
      Promise.reject(new DOMException('The requested file could not be read', 'NotReadableError'));
    return blob;
  }
}

describe('fileCheckpointSource', () => {
  const source = fileCheckpointSource('ckpt', [
    { path: 'vqvae/config.json', file: new File(['{"a": 1}'], 'config.json') },
    { path: 'vqvae/model.safetensors', file: new File([bytes], 'model.safetensors') },
  ]);

  it('lists the files by their paths and reads exactly the ranges asked for', async () => {
    expect(await source.list()).toEqual(['vqvae/config.json', 'vqvae/model.safetensors']);
    const f = await source.open('vqvae/model.safetensors');
    expect(f.name).toBe('ckpt/vqvae/model.safetensors');
    expect(f.size).toBe(bytes.length);
    expect(await f.read(1234, 5678)).toEqual(bytes.slice(1234, 5678));
    expect(JSON.parse(await readText(source, 'vqvae/config.json'))).toEqual({ a: 1 });
  });

  it('refuses a missing file and a range outside the file, naming them', async () => {
    await expect(source.open('editmgt/config.json')).rejects.toThrow('ckpt has no file editmgt/config.json');
    const f = await source.open('vqvae/model.safetensors');
    await expect(f.read(9_000, 10_001)).rejects.toThrow(CheckpointError);
    await expect(f.read(9_000, 10_001)).rejects.toThrow('ckpt/vqvae/model.safetensors');
  });

  it('says which file changed after the folder was chosen, and what to do', async () => {
    const changed = fileCheckpointSource('ckpt', [
      { path: 'text_encoder/model.safetensors', file: new ChangedFile([bytes], 'model.safetensors') },
    ]);
    const f = await changed.open('text_encoder/model.safetensors');
    await expect(f.read(0, 10)).rejects.toThrow(
      /^ckpt\/text_encoder\/model\.safetensors could not be read \(The requested file could not be read\); it changed or was moved after the folder was chosen\. Choose the folder again\.$/,
    );
  });

  it('stops at once when the conversion is cancelled', async () => {
    const f = await source.open('vqvae/model.safetensors');
    const controller = new AbortController();
    controller.abort(new DOMException('cancelled', 'AbortError'));
    await expect(f.read(0, 10, controller.signal)).rejects.toThrow('cancelled');
  });
});
