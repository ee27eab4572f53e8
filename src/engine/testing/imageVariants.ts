/**
 * Valid image files in the shapes real cameras and editors write, made from the project's
 * fixtures for tests: JPEGs carrying large metadata before the frame header (ICC profiles, XMP,
 * maker notes) and files with data after their end (motion photos append a video).
 */

/** A JPEG with `extra` bytes of APP2 segments (as an ICC profile is stored) right after SOI. */
export function withJpegMetadata(jpeg: Uint8Array, extra: number): Uint8Array {
  const segments: number[] = [];
  for (let left = extra; left > 0;) {
    const payload = Math.min(left, 65533 - 2);
    segments.push(0xff, 0xe2, ((payload + 2) >> 8) & 255, (payload + 2) & 255);
    for (let i = 0; i < payload; i++) segments.push(0x20 + (i % 90));
    left -= payload;
  }
  const out = new Uint8Array(jpeg.length + segments.length);
  out.set(jpeg.subarray(0, 2));
  out.set(segments, 2);
  out.set(jpeg.subarray(2), 2 + segments.length);
  return out;
}

/**
 * `file` followed by `extra` bytes shaped like an MP4 (an `ftyp` box, then filler), as a motion
 * photo stores its video after the picture. The filler has no 0xFF byte, so it holds no marker.
 */
export function withTrailer(file: Uint8Array, extra: number): Uint8Array {
  const out = new Uint8Array(file.length + extra);
  out.set(file);
  const box = [0, 0, 0, 24, ...[...'ftypmp42'].map((c) => c.charCodeAt(0))];
  let x = 12345;
  for (let i = 0; i < extra; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[file.length + i] = i < box.length ? box[i]! : (x >>> 16) % 255;
  }
  return out;
}
