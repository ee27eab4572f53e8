/**
 * Reads an image file's format and pixel size from its headers, before any decoding, so that
 * oversized or broken files are refused cheaply. Pure: bytes in, facts out.
 */
import {
  readJpegStructure,
  readPngStructure,
  tooLargeMessage as engineTooLargeMessage,
} from '../../engine/internal';
import type { ImageStructure, ReadBytes } from '../../engine/internal';
import { readAvifSize } from './avifHeader';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp' | 'avif' | 'unknown';

/** The format, and what its header says (size, bit depth, a structural problem). */
export interface ImageHeader extends ImageStructure {
  format: ImageFormat;
}

const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u32be = (b: Uint8Array, i: number) =>
  ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
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

function readWebp(b: Uint8Array): ImageHeader {
  if (b.length < 30) return { format: 'webp', problem: 'the WebP header is damaged' };
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8X')
    return {
      format: 'webp',
      width: 1 + (b[24] | (b[25] << 8) | (b[26] << 16)),
      height: 1 + (b[27] | (b[28] << 8) | (b[29] << 16)),
    };
  if (chunk === 'VP8L') {
    const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8 ')
    return { format: 'webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  return { format: 'webp' };
}

/** The first bytes read for formats whose header sits at the start. */
const HEAD_BYTES = 64 * 1024;

/**
 * Reads the format, size and completeness of a file through `read` (byte ranges), so only the
 * parts the format's layout points at are read. PNG and JPEG are walked by their own structure.
 */
export async function readImageHeader(read: ReadBytes, fileSize: number): Promise<ImageHeader> {
  const head = await read(0, Math.min(fileSize, HEAD_BYTES));
  const format = sniffFormat(head);
  switch (format) {
    case 'png':
      return { format, ...(await readPngStructure(read, fileSize)) };
    case 'jpeg':
      return { format, ...(await readJpegStructure(read, fileSize)) };
    case 'gif':
      return head.length >= 10
        ? { format, width: u16le(head, 6), height: u16le(head, 8) }
        : { format, problem: 'the GIF header is damaged' };
    case 'bmp':
      return head.length >= 26
        ? { format, width: Math.abs(i32le(head, 18)), height: Math.abs(i32le(head, 22)) }
        : { format, problem: 'the BMP header is damaged' };
    case 'webp':
      return readWebp(head);
    case 'avif':
      return { format, ...readAvifSize(head) };
    case 'unknown':
      return { format };
  }
}

/** The engine's limit and message, checked here before decoding (so a huge file costs nothing). */
export function tooLargeMessage(width: number, height: number): string | null {
  const message = engineTooLargeMessage(width, height, 'This image');
  return message && `${message}.`;
}
