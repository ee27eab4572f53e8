/** PNG/JPEG structure on real files from the fixtures, as cameras and editors write them. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readJpegStructure, readPngStructure } from './imageStructure';
import { withJpegMetadata, withTrailer } from './testing/imageVariants';

const fixture = (path: string) =>
  new Uint8Array(readFileSync(new URL(`../../e2e/fixtures/${path}`, import.meta.url)));
const rocket = fixture('photos/rocket.jpg'); // 640×427 baseline JPEG
const progressive = fixture('photos/rocket-progressive.jpg'); // 10 scans, tables between them
const portrait = fixture('images/portrait-exif6.jpg'); // 480×320 stored, EXIF orientation 6
const truncated = fixture('images/truncated.jpg');
const chelsea = fixture('photos/chelsea.png'); // 451×300

/** Counts the reads, to show the usual file costs a few small ones. */
function reader(bytes: Uint8Array) {
  const reads: number[] = [];
  const read = (start: number, end: number) => {
    reads.push(end - start);
    return Promise.resolve(bytes.subarray(start, end));
  };
  return { read, reads };
}

const jpeg = (bytes: Uint8Array) => readJpegStructure(reader(bytes).read, bytes.length);
const png = (bytes: Uint8Array) => readPngStructure(reader(bytes).read, bytes.length);

describe('JPEG structure', () => {
  it('reads the frame size of a plain JPEG with two small reads', async () => {
    const r = reader(rocket);
    expect(await readJpegStructure(r.read, rocket.length)).toEqual({
      width: 640,
      height: 427,
      imageBytes: rocket.length,
    });
    expect(r.reads.length).toBe(2);
  });

  it('finds the frame header behind 300 KB of metadata', async () => {
    const big = withJpegMetadata(rocket, 300_000);
    expect(big.length).toBeGreaterThan(rocket.length + 300_000);
    expect(await jpeg(big)).toEqual({ width: 640, height: 427, imageBytes: big.length });
    const tall = withJpegMetadata(portrait, 70_000);
    expect(await jpeg(tall)).toEqual({ width: 480, height: 320, imageBytes: tall.length });
  });

  it('accepts data after the end marker (a motion photo) and says where the picture ends', async () => {
    const motion = withTrailer(rocket, 300_000);
    expect(await jpeg(motion)).toEqual({ width: 640, height: 427, imageBytes: rocket.length });
    // a progressive file: the end marker is found past the tables and scans between its scans
    const progressiveMotion = withTrailer(progressive, 300_000);
    expect(await jpeg(progressiveMotion)).toEqual({
      width: 640,
      height: 427,
      imageBytes: progressive.length,
    });
    expect(
      (await jpeg(withTrailer(progressive.subarray(0, progressive.length >> 1), 300_000))).problem,
    ).toMatch(/cut off/);
    const both = withTrailer(withJpegMetadata(rocket, 100_000), 1);
    expect(await jpeg(both)).toEqual({ width: 640, height: 427, imageBytes: both.length - 1 });
  });

  it('still notices a JPEG cut short, and one with no frame header', async () => {
    expect((await jpeg(truncated)).problem).toMatch(/cut off/);
    expect((await jpeg(rocket.subarray(0, rocket.length >> 1))).problem).toMatch(/cut off/);
    expect((await jpeg(withJpegMetadata(rocket, 300_000).subarray(0, 200_000))).problem).toMatch(
      /no image header/,
    );
  });
});

describe('PNG structure', () => {
  it('reads the size, and accepts bytes after IEND (one, or 100 KB)', async () => {
    expect(await png(chelsea)).toEqual({ width: 451, height: 300, bitDepth: 8, imageBytes: chelsea.length });
    expect(await png(withTrailer(chelsea, 1))).toEqual({
      width: 451,
      height: 300,
      bitDepth: 8,
      imageBytes: chelsea.length,
    });
    expect(await png(withTrailer(chelsea, 100_000))).toEqual({
      width: 451,
      height: 300,
      bitDepth: 8,
      imageBytes: chelsea.length,
    });
  });

  it('notices a PNG cut short', async () => {
    expect((await png(chelsea.subarray(0, chelsea.length - 20))).problem).toMatch(/cut off/);
    expect((await png(chelsea.subarray(0, 20))).problem).toMatch(/header is damaged/);
  });
});
