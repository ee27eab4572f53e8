/**
 * Seeded randomness (xoshiro128**) and golden replay, both behind the Rng port.
 * No Math.random anywhere in the engine: same seed + same backend → same edit.
 */
import type { Rng, StepUniforms } from './ports';

const TWO_POW_M24 = 1 / 16777216;

/** splitmix32: a 32-bit mixer used only to expand seeds into xoshiro state. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** xoshiro128** (Blackman & Vigna), 32-bit state words. */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `key` words are hashed into the 128-bit state; any integers are fine. */
  constructor(key: readonly number[]) {
    let h = 0x243f6a88;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      for (const k of key) h = splitmix32(h ^ (k >>> 0));
      h = splitmix32(h + i);
      words.push(h);
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float32 uniform in [0, 1): 24 random bits, so every value is exactly representable. */
  nextFloat32(): number {
    return (this.nextUint32() >>> 8) * TWO_POW_M24;
  }

  fill(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.nextFloat32();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Splits a non-negative integer seed (up to 2^53) into two 32-bit words. */
function seedWords(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`seed must be a non-negative integer, got ${seed}`);
  return [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
}

/**
 * The app's Rng: each step's arrays come from their own stream keyed by (seed, step, kind),
 * so a step's draws do not depend on how many numbers earlier steps consumed.
 */
export function seededRng(seed: number): Rng {
  const [lo, hi] = seedWords(seed);
  return {
    step(step: number, n: number): StepUniforms {
      return {
        draw: new Xoshiro128([lo, hi, step, 1]).fill(new Float32Array(n)),
        gumbel: new Xoshiro128([lo, hi, step, 2]).fill(new Float32Array(n)),
      };
    },
  };
}

/** Replays recorded uniforms (golden fixtures): `draw[i]`, `gumbel[i]` per step. */
export function replayRng(draw: readonly Float32Array[], gumbel: readonly Float32Array[]): Rng {
  return {
    step(step: number, n: number): StepUniforms {
      const d = draw[step];
      const g = gumbel[step];
      if (d === undefined || g === undefined) throw new Error(`replay has no uniforms for step ${step}`);
      if (d.length !== n || g.length !== n)
        throw new Error(`replay step ${step}: expected ${n} uniforms, got ${d.length}/${g.length}`);
      return { draw: d, gumbel: g };
    },
  };
}
