/** PNG/JPEG decode and encode in node, pure JS (pngjs, jpeg-js). */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { EditError, MAX_INPUT_PIXELS } from '../src/engine/index';
import type { RgbaImage } from '../src/engine/index';
import {
  applyExifOrientation,
  readJpegStructure,
  readPngStructure,
  tooLargeMessage,
} from '../src/engine/internal';

export class ImageFormatError extends Error {}

/** Largest image file read: a 50 MP image fits in far less, even as an uncompressed 16-bit PNG. */
export const MAX_IMAGE_FILE_BYTES = 512 * 1024 * 1024;

export function decodeImage(bytes: Uint8Array, name = 'image'): RgbaImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isPng = buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47;
  const isJpeg = buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
  try {
    if (isPng) {
      const png = PNG.sync.read(buf);
      return {
        width: png.width,
        height: png.height,
        data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength),
      };
    }
    if (isJpeg) {
      const img = jpeg.decode(buf, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: MAX_INPUT_PIXELS / 1e6,
        maxMemoryUsageInMB: 1024,
      });
      const rgba = {
        width: img.width,
        height: img.height,
        data: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength),
      };
      return applyExifOrientation(rgba, jpegOrientation(buf));
    }
  } catch (err) {
    const msg = (err as Error).message;
    if (/maxResolutionInMP|resolution/i.test(msg))
      throw new EditError(
        'image-too-large',
        `${name} is over the limit of ${MAX_INPUT_PIXELS / 1e6} megapixels — scale it down and try again`,
      );
    throw new ImageFormatError(`${name} is not a decodable image (${msg.split('\n')[0]})`);
  }
  throw new ImageFormatError(`${name} is not a PNG or JPEG image`);
}

/** Encodes by extension: .jpg/.jpeg → JPEG (quality 95), anything else → PNG. */
export function encodeImage(img: RgbaImage, path: string): Uint8Array {
  if (/\.jpe?g$/i.test(path)) {
    return jpeg.encode(
      {
        width: img.width,
        height: img.height,
        data: Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength),
      },
      95,
    ).data;
  }
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png);
}

/**
 * Opens a PNG or JPEG file's bytes: its structure is read first (size, completeness, where the
 * image ends), so a file over the pixel limit or cut short is refused before decoding, and data
 * after the image's end (a motion photo's video, bytes after IEND) is left out of the decode.
 */
export async function openImage(bytes: Uint8Array, name: string): Promise<RgbaImage> {
  const read = (start: number, end: number) => Promise.resolve(bytes.subarray(start, end));
  const isPng =
    bytes.length >= 8 && Buffer.from(bytes.buffer, bytes.byteOffset, 4).readUInt32BE(0) === 0x89504e47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!isPng && !isJpeg) return decodeImage(bytes, name); // says what it is not
  const s = isPng ? await readPngStructure(read, bytes.length) : await readJpegStructure(read, bytes.length);
  const tooLarge =
    s.width !== undefined && s.height !== undefined ? tooLargeMessage(s.width, s.height, name) : null;
  if (tooLarge) throw new EditError('image-too-large', tooLarge);
  if (s.problem) throw new ImageFormatError(`${name} is not a decodable image (${s.problem})`);
  return decodeImage(bytes.subarray(0, s.imageBytes), name);
}

/** EXIF orientation (1–8) from a JPEG's APP1 segment; 1 when absent or unreadable. */
export function jpegOrientation(buf: Buffer): number {
  let p = 2;
  while (p + 4 < buf.length && buf[p] === 0xff) {
    const marker = buf[p + 1]!;
    const len = buf.readUInt16BE(p + 2);
    if (marker === 0xe1 && buf.toString('latin1', p + 4, p + 10) === 'Exif\0\0') {
      const t = p + 10; // TIFF header
      const le = buf.toString('latin1', t, t + 2) === 'II';
      const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
      const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
      const ifd = t + u32(t + 4);
      if (ifd + 2 > buf.length) return 1;
      const n = u16(ifd);
      for (let i = 0; i < n; i++) {
        const e = ifd + 2 + i * 12;
        if (e + 12 > buf.length) return 1;
        if (u16(e) === 0x0112) return u16(e + 8);
      }
      return 1;
    }
    if (marker === 0xda) return 1; // start of scan: no EXIF before the image data
    p += 2 + len;
  }
  return 1;
}
