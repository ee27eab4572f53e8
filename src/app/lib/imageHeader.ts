/**
 * Reads an image file's format and pixel size from its first bytes, before any decoding, so that
 * oversized or broken files are refused cheaply. Pure: bytes in, facts out.
 */
import { readAvifSize } from './avifHeader';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp' | 'avif' | 'unknown';

export interface ImageHeader {
  format: ImageFormat;
  width?: number;
  height?: number;
  /** PNG bit depth (16-bit PNGs decode to 8 bits in browsers, which is fine). */
  bitDepth?: number;
  /** A structural reason the file cannot be a complete image (e.g. a JPEG without its end marker). */
  problem?: string;
}

/** The engine refuses anything bigger; so do we, before decoding. */
export const MAX_MEGAPIXELS = 50;

const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u32be = (b: Uint8Array, i: number) => ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
const i32le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

export function sniffFormat(b: Uint8Array): ImageFormat {
  if (b.length >= 8 && u32be(b, 0) === 0x89504e47 && u32be(b, 4) === 0x0d0a1a0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 2 && ascii(b, 0, 2) === 'BM') return 'bmp';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (b.length >= 12 && ascii(b, 4, 4) === 'ftyp' && /^avi[fs]$/.test(ascii(b, 8, 4))) return 'avif';
  return 'unknown';
}

function readPng(b: Uint8Array, tail: Uint8Array): ImageHeader {
  if (b.length < 33 || ascii(b, 12, 4) !== 'IHDR') return { format: 'png', problem: 'the PNG header is damaged' };
  const ended = tail.length >= 12 && ascii(tail, tail.length - 8, 4) === 'IEND';
  return {
    format: 'png',
    width: u32be(b, 16),
    height: u32be(b, 20),
    bitDepth: b[24],
    problem: ended ? undefined : 'the PNG is cut off (it has no end chunk)',
  };
}

/** Walks JPEG segments to the frame header (SOFn); checks that an end marker follows the scan. */
function readJpeg(b: Uint8Array, tail: Uint8Array, fileSize: number): ImageHeader {
  let i = 2;
  let width: number | undefined;
  let height: number | undefined;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return { format: 'jpeg', width, height, problem: 'the JPEG structure is damaged' };
    const marker = b[i + 1];
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    const length = u16be(b, i + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof && i + 9 <= b.length) {
      height = u16be(b, i + 5);
      width = u16be(b, i + 7);
    }
    if (marker === 0xda) break; // start of scan: entropy-coded data follows
    i += 2 + length;
  }
  if (width === undefined) return { format: 'jpeg', problem: 'the JPEG has no image header' };
  // In entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so FFD9 after the
  // scan start can only be the end-of-image marker.
  const tailStart = fileSize - tail.length;
  let ended = false;
  for (let j = tail.length - 2; j >= 0 && tailStart + j > i; j--) {
    if (tail[j] === 0xff && tail[j + 1] === 0xd9) {
      ended = true;
      break;
    }
  }
  return { format: 'jpeg', width, height, problem: ended ? undefined : 'the JPEG is cut off (it ends before the image does)' };
}

function readWebp(b: Uint8Array): ImageHeader {
  if (b.length < 30) return { format: 'webp', problem: 'the WebP header is damaged' };
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8X') return { format: 'webp', width: 1 + (b[24] | (b[25] << 8) | (b[26] << 16)), height: 1 + (b[27] | (b[28] << 8) | (b[29] << 16)) };
  if (chunk === 'VP8L') {
    const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8 ') return { format: 'webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  return { format: 'webp' };
}

/**
 * @param head the file's first bytes (64 KiB is plenty: JPEG EXIF blocks come before the frame header)
 * @param tail the file's last bytes (used to check the file is complete)
 * @param fileSize the whole file's size in bytes
 */
export function readImageHeader(head: Uint8Array, tail: Uint8Array, fileSize: number): ImageHeader {
  const format = sniffFormat(head);
  switch (format) {
    case 'png':
      return readPng(head, tail);
    case 'jpeg':
      return readJpeg(head, tail, fileSize);
    case 'gif':
      return head.length >= 10 ? { format, width: u16le(head, 6), height: u16le(head, 8) } : { format, problem: 'the GIF header is damaged' };
    case 'bmp':
      return head.length >= 26 ? { format, width: Math.abs(i32le(head, 18)), height: Math.abs(i32le(head, 22)) } : { format, problem: 'the BMP header is damaged' };
    case 'webp':
      return readWebp(head);
    case 'avif':
      return { format, ...readAvifSize(head) };
    case 'unknown':
      return { format };
  }
}

export function megapixels(width: number, height: number): number {
  return (width * height) / 1e6;
}

export function tooLargeMessage(width: number, height: number): string | null {
  const mp = megapixels(width, height);
  if (mp <= MAX_MEGAPIXELS) return null;
  return `This image is ${width}×${height} (${mp.toFixed(0)} megapixels); the limit is ${MAX_MEGAPIXELS}. Scale it down and try again.`;
}
