import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withJpegMetadata, withTrailer } from '../../engine/internal';
import { readImageHeader, sniffFormat, tooLargeMessage } from './imageHeader';

const bytes = (...parts: (number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, (n >>> 8) & 255];
const le32 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];

function png(width: number, height: number, depth = 8, ended = true) {
  const head = bytes(
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    be32(13),
    'IHDR',
    be32(width),
    be32(height),
    [depth, 2, 0, 0, 0],
    be32(0),
    be32(100),
    'IDAT',
  );
  const tail = ended
    ? bytes(be32(0), 'IEND', [0xae, 0x42, 0x60, 0x82])
    : bytes(be32(0), 'IDAT', [1, 2, 3, 4]);
  const all = new Uint8Array(head.length + 50 + tail.length);
  all.set(head);
  all.set(tail, all.length - tail.length);
  return all;
}

function jpeg(width: number, height: number, ended = true) {
  const app0 = [0xff, 0xe0, 0, 16, ...bytes('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const sof = [
    0xff,
    0xc0,
    0,
    17,
    8,
    (height >> 8) & 255,
    height & 255,
    (width >> 8) & 255,
    width & 255,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ];
  const sos = [0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0];
  const scan = [0x12, 0xff, 0x00, 0x34, 0x56];
  return bytes([0xff, 0xd8], app0, sof, sos, scan, ended ? [0xff, 0xd9] : [0x78]);
}

const header = (file: Uint8Array) =>
  readImageHeader(async (start, end) => file.slice(start, end), file.length);

describe('image headers', async () => {
  it('recognises formats by their magic bytes', async () => {
    expect(sniffFormat(png(1, 1))).toBe('png');
    expect(sniffFormat(jpeg(1, 1))).toBe('jpeg');
    expect(sniffFormat(bytes('GIF89a', [1, 0, 1, 0]))).toBe('gif');
    expect(sniffFormat(bytes('BM', new Array(30).fill(0)))).toBe('bmp');
    expect(sniffFormat(bytes('RIFF', le32(100), 'WEBPVP8 '))).toBe('webp');
    expect(sniffFormat(bytes(be32(28), 'ftypavif', be32(0)))).toBe('avif');
    expect(sniffFormat(bytes('This is a note, not a picture.\n'))).toBe('unknown');
    expect(sniffFormat(new Uint8Array(0))).toBe('unknown');
  });

  it('reads a PNG size and bit depth, and notices a cut-off PNG', async () => {
    expect(await header(png(640, 427, 16))).toEqual({
      format: 'png',
      width: 640,
      height: 427,
      bitDepth: 16,
      imageBytes: 103,
    });
    expect((await header(png(640, 427, 8, false))).problem).toMatch(/cut off/);
  });

  it('reads a JPEG size from its frame header, and notices a missing end marker', async () => {
    const h = await header(jpeg(640, 427));
    expect([h.width, h.height, h.problem]).toEqual([640, 427, undefined]);
    expect((await header(jpeg(640, 427, false))).problem).toMatch(/cut off/);
    expect((await header(bytes([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0]))).problem).toMatch(/no image header/);
  });

  it('reads GIF, BMP and WebP sizes', async () => {
    expect(await header(bytes('GIF89a', le16(320), le16(200), [0, 0, 0]))).toMatchObject({
      width: 320,
      height: 200,
    });
    const bmp = bytes(
      'BM',
      le32(0),
      le32(0),
      le32(54),
      le32(40),
      le32(64),
      le32(-48 >>> 0),
      new Array(8).fill(0),
    );
    expect(await header(bmp)).toMatchObject({ format: 'bmp', width: 64, height: 48 });
    const vp8x = bytes(
      'RIFF',
      le32(100),
      'WEBPVP8X',
      le32(10),
      [0, 0, 0, 0],
      [(640 - 1) & 255, (640 - 1) >> 8, 0],
      [(427 - 1) & 255, (427 - 1) >> 8, 0],
    );
    expect(await header(vp8x)).toMatchObject({ format: 'webp', width: 640, height: 427 });
  });

  it('refuses more than 50 megapixels with the size in the message', async () => {
    expect(tooLargeMessage(8000, 6000)).toBeNull();
    expect(tooLargeMessage(10000, 6000)).toMatch(/10000×6000 \(60 megapixels\); the limit is 50/);
  });

  it('accepts valid files Chromium decodes: big JPEG metadata, a motion photo, bytes after IEND', async () => {
    const fixture = (p: string) =>
      new Uint8Array(readFileSync(new URL(`../../../e2e/fixtures/${p}`, import.meta.url)));
    const rocket = fixture('photos/rocket.jpg');
    const chelsea = fixture('photos/chelsea.png');
    for (const file of [withJpegMetadata(rocket, 300_000), withTrailer(rocket, 300_000)]) {
      expect(await header(file)).toMatchObject({ format: 'jpeg', width: 640, height: 427 });
      expect((await header(file)).problem).toBeUndefined();
    }
    const png1 = await header(withTrailer(chelsea, 1));
    expect([png1.width, png1.height, png1.problem]).toEqual([451, 300, undefined]);
  });
});
