import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createStreamDigest, sha256OfBlocks } from './digest';

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describe('streamed sha256', () => {
  const data = bytes(1 << 20, 7);
  const expected = createHash('sha256').update(data).digest('hex');

  it('equals node crypto over the whole, fed in uneven blocks', async () => {
    const blocks = [0, 1, 100, 65_537, 300_000, data.length].map((end, i, all) =>
      data.subarray(i === 0 ? 0 : all[i - 1], end),
    );
    expect(await sha256OfBlocks(blocks)).toBe(expected);
  });

  it('resumes from a saved state', async () => {
    const first = await createStreamDigest();
    first.update(data.subarray(0, 400_001));
    const state = { bytes: first.save(), length: first.length };
    const resumed = await createStreamDigest(state);
    resumed.update(data.subarray(400_001));
    expect(resumed.length).toBe(data.length);
    expect(resumed.hex()).toBe(expected);
  });

  it('hashes the empty input', async () => {
    expect(await sha256OfBlocks([])).toBe(createHash('sha256').digest('hex'));
  });
});
