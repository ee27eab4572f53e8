import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readAvifSize } from './avifHeader';
import { readImageHeader, tooLargeMessage } from './imageHeader';

const photo = new Uint8Array(readFileSync('e2e/fixtures/images/photo.avif'));

/** photo.avif with its declared size changed, as a 12000×12000 file would declare it. */
function declaring(width: number, height: number): Uint8Array {
  const b = photo.slice();
  const at = Buffer.from(b).indexOf('ispe');
  new DataView(b.buffer).setUint32(at + 8, width);
  new DataView(b.buffer).setUint32(at + 12, height);
  return b;
}

const reader = (b: Uint8Array) => (start: number, end: number) => Promise.resolve(b.subarray(start, end));

describe('readAvifSize', () => {
  it('reads the size avifenc wrote (photo.jpg is 640×427)', async () => {
    expect(readAvifSize(photo)).toEqual({ width: 640, height: 427 });
    expect(await readImageHeader(reader(photo), photo.length)).toEqual({
      format: 'avif',
      width: 640,
      height: 427,
    });
  });

  it('lets the size check refuse a huge AVIF from its header alone', async () => {
    const huge = declaring(12000, 12000);
    const header = await readImageHeader(reader(huge), huge.length);
    expect(header).toMatchObject({ width: 12000, height: 12000 });
    expect(tooLargeMessage(header.width!, header.height!)).toMatch(/12000×12000 \(144 megapixels\)/);
  });

  it('reads the real 60-megapixel AVIF fixture (huge.avif) from its header, for the size check', async () => {
    const bomb = new Uint8Array(readFileSync('e2e/fixtures/images/huge.avif'));
    expect(bomb.length).toBeLessThan(4096);
    const header = await readImageHeader(reader(bomb), bomb.length);
    expect(header).toEqual({ format: 'avif', width: 10000, height: 6000 });
    expect(tooLargeMessage(header.width!, header.height!)).toMatch(
      /10000×6000 \(60 megapixels\).*limit is 50/,
    );
  });

  it('gives up quietly on cut or damaged boxes', () => {
    expect(readAvifSize(photo.subarray(0, 100))).toBeNull();
    const broken = photo.slice();
    broken.fill(0, 36, 44); // the meta box's size and type
    expect(readAvifSize(broken)).toBeNull();
    expect(readAvifSize(new Uint8Array(0))).toBeNull();
  });
});
