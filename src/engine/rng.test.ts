import { describe, expect, it } from 'vitest';
import { replayRng, seededRng, Xoshiro128 } from './rng';

describe('seeded Rng', () => {
  it('is deterministic per (seed, step) and independent of call order', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const s3 = a.step(3, 100);
    b.step(0, 5000);
    expect(Array.from(b.step(3, 100).draw)).toEqual(Array.from(s3.draw));
    expect(Array.from(seededRng(43).step(3, 100).draw)).not.toEqual(Array.from(s3.draw));
    expect(Array.from(s3.gumbel)).not.toEqual(Array.from(s3.draw));
  });
  it('gives float32 uniforms in [0, 1) with a plausible mean', () => {
    const u = seededRng(7).step(0, 100_000).draw;
    let sum = 0;
    let bad = 0;
    for (const v of u) {
      if (!(v >= 0 && v < 1)) bad++;
      sum += v;
    }
    expect(bad).toBe(0);
    expect(sum / u.length).toBeCloseTo(0.5, 2);
  });
  it('seeds above 2^32 differ from their low word', () => {
    expect(Array.from(seededRng(2 ** 32 + 5).step(0, 8).draw)).not.toEqual(
      Array.from(seededRng(5).step(0, 8).draw),
    );
    expect(() => seededRng(-1)).toThrow();
  });
  it('xoshiro128** first outputs for a fixed state are stable', () => {
    const g = new Xoshiro128([1, 2, 3]);
    const first = [g.nextUint32(), g.nextUint32(), g.nextUint32()];
    const h = new Xoshiro128([1, 2, 3]);
    expect([h.nextUint32(), h.nextUint32(), h.nextUint32()]).toEqual(first);
    expect(new Set(first).size).toBe(3);
  });
});

describe('replay Rng', () => {
  it('returns the recorded arrays and refuses missing or mis-sized steps', () => {
    const d = [Float32Array.from([0.1, 0.2])];
    const g = [Float32Array.from([0.3, 0.4])];
    const r = replayRng(d, g);
    expect(r.step(0, 2).draw).toBe(d[0]);
    expect(() => r.step(1, 2)).toThrow(/no uniforms/);
    expect(() => r.step(0, 3)).toThrow(/expected 3/);
  });
});
