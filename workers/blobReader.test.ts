import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSha256, readBlobBytes, sha256Hex, sha256OfBlob } from './blobReader';

const bytes = Uint8Array.from({ length: 1_000_003 }, (_, i) => (i * 2654435761) >>> 24);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const nodeSha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A Blob whose whole-file read fails, as Chromium's is for an OPFS file of 2 GiB or more. */
class NoWholeReadBlob extends Blob {
  constructor(
    parts: BlobPart[],
    private readonly limit: number,
  ) {
    super(parts);
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    if (this.size >= this.limit)
      return Promise.reject(new DOMException('the file is too large to read whole', 'NotReadableError'));
    return super.arrayBuffer();
  }
  override slice(start?: number, end?: number): Blob {
    return new NoWholeReadBlob([super.slice(start, end)], this.limit);
  }
}

describe('readBlobBytes', () => {
  it('reads a file by slices, whatever the slice size, and never whole when a slice is smaller', async () => {
    const blob = new NoWholeReadBlob([bytes], 1 << 19);
    await expect(blob.arrayBuffer()).rejects.toThrow(/too large/);
    for (const slice of [1 << 16, 333_333, (1 << 19) - 1]) {
      expect(same(await readBlobBytes(blob, slice), bytes), `slices of ${slice}`).toBe(true);
    }
    // A slice at or above the limit fails, as a whole read does in Chromium.
    await expect(readBlobBytes(blob, 1 << 20)).rejects.toThrow(/too large/);
    expect(same(await readBlobBytes(new Blob([bytes]), bytes.length + 1), bytes)).toBe(true);
  });

  it('reads an empty file and refuses a slice size of zero', async () => {
    expect(await readBlobBytes(new Blob([]))).toEqual(new Uint8Array(0));
    await expect(readBlobBytes(new Blob([bytes]), 0)).rejects.toThrow(RangeError);
  });
});

describe('sha256', () => {
  it('hashes whole, by slices, and incrementally with a saved and resumed state, as node does', async () => {
    const expected = nodeSha(bytes);
    expect(await sha256Hex(bytes)).toBe(expected);
    expect(await sha256OfBlob(new NoWholeReadBlob([bytes], 1 << 19), 100_000)).toBe(expected);
    const first = await createSha256();
    first.update(bytes.subarray(0, 400_000));
    const resumed = await createSha256(first.save());
    resumed.update(bytes.subarray(400_000));
    expect(resumed.hex()).toBe(expected);
  });
});
