import { describe, expect, it } from 'vitest';
import { CHUNK, rangeReadBlob } from './rangeReads';

/** 2.5 chunks of bytes that differ from position to position. */
function sample(): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(CHUNK * 2 + CHUNK / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 13)) & 0xff;
  return bytes;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const reader = stream.getReader(); ;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

describe('rangeReadBlob', () => {
  it('reads the whole file (the JSEP build) a chunk at a time, each chunk heard as progress', async () => {
    const bytes = sample();
    let ranges = 0;
    const blob = rangeReadBlob(new Blob([bytes]), () => ranges++);
    const whole = new Uint8Array(await blob.arrayBuffer());
    expect(whole.length).toBe(bytes.length);
    expect(Buffer.from(whole).equals(Buffer.from(bytes))).toBe(true);
    expect(ranges).toBe(3);
  });

  it("streams a tensor's range (the JSPI build) through reads of at most one chunk", async () => {
    const bytes = sample();
    let ranges = 0;
    const blob = rangeReadBlob(new Blob([bytes]), () => ranges++);
    const [start, end] = [CHUNK / 4, CHUNK * 2 + 7];
    const part = await readAll(blob.slice(start, end).stream());
    expect(Buffer.from(part).equals(Buffer.from(bytes.subarray(start, end)))).toBe(true);
    expect(ranges).toBe(2);
  });

  it('keeps the size and an empty file reads as empty', async () => {
    let ranges = 0;
    const empty = rangeReadBlob(new Blob([]), () => ranges++);
    expect(empty.size).toBe(0);
    expect((await empty.arrayBuffer()).byteLength).toBe(0);
    expect(ranges).toBe(0);
  });
});
