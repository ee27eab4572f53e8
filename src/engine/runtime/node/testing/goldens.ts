/** Reads the exporter's golden fixtures (tools/export/goldens/<model>/index.json + .bin arrays). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GoldenIndex {
  readonly prompts: Record<string, string>;
  readonly negative_prompt: string;
  readonly cases: Record<
    string,
    {
      prompt: string;
      negative_prompt: string;
      steps: number;
      guidance_scale: number;
      reference_strength: number;
      temperature: [number, number];
      region_hold: number;
      mask: boolean;
      schedule: 'cosine' | 'linear';
      text_weights: string;
    }
  >;
  readonly tolerances: { float_abs: number; attention_abs: number; pixels_abs: number };
  readonly arrays: Record<string, { file: string; dtype: 'float32' | 'int32' | 'uint8'; shape: number[] }>;
}

export class Goldens {
  readonly index: GoldenIndex;
  constructor(readonly dir: string) {
    this.index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as GoldenIndex;
  }

  has(name: string): boolean {
    return name in this.index.arrays;
  }

  private raw(name: string): { buf: ArrayBuffer; shape: number[]; dtype: string } {
    const a = this.index.arrays[name];
    if (!a) throw new Error(`golden array ${name} is not in index.json`);
    const bytes = readFileSync(join(this.dir, a.file));
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    return { buf, shape: a.shape, dtype: a.dtype };
  }

  f32(name: string): Float32Array {
    const r = this.raw(name);
    if (r.dtype !== 'float32') throw new Error(`${name} is ${r.dtype}`);
    return new Float32Array(r.buf);
  }

  i32(name: string): Int32Array {
    const r = this.raw(name);
    if (r.dtype !== 'int32') throw new Error(`${name} is ${r.dtype}`);
    return new Int32Array(r.buf);
  }

  u8(name: string): Uint8Array {
    const r = this.raw(name);
    if (r.dtype !== 'uint8') throw new Error(`${name} is ${r.dtype}`);
    return new Uint8Array(r.buf);
  }

  shape(name: string): number[] {
    return this.index.arrays[name]!.shape;
  }

  /** Rows of a [n, k] array. */
  rows<T extends Float32Array | Int32Array | Uint8Array>(data: T, n: number): T[] {
    const k = data.length / n;
    return Array.from({ length: n }, (_, i) => data.subarray(i * k, (i + 1) * k) as T);
  }
}
