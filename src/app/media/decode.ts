/**
 * Files → images the editor can use. Checks size and structure from the header before decoding
 * (so a 100-megapixel or truncated file is refused cheaply), then decodes with EXIF orientation.
 * Failures throw ImageInputError with a message for the person.
 */
import { readImageHeader, tooLargeMessage } from '../lib/imageHeader';
import type { ImageRef } from '../lib/types';

export class ImageInputError extends Error {
  override name = 'ImageInputError';
}

const ACCEPTED = 'PNG, JPEG, WebP, GIF, BMP or AVIF';

export function newId(): string {
  return crypto.randomUUID();
}

/** Reads only the parts of the file its format's layout points at (a few KB for most files). */
function probe(file: Blob) {
  return readImageHeader(
    async (start, end) => new Uint8Array(await file.slice(start, end).arrayBuffer()),
    file.size,
  );
}

/** Decodes with EXIF orientation applied; the caller owns the bitmap. */
export function decodeOriented(blob: Blob): Promise<ImageBitmap> {
  return createImageBitmap(blob, { imageOrientation: 'from-image' });
}

export async function openImageFile(
  file: Blob,
  name: string,
): Promise<{ ref: ImageRef; bitmap: ImageBitmap }> {
  const label = `“${name}”`;
  if (file.size === 0) throw new ImageInputError(`${label} is empty (0 bytes). Choose another file.`);
  const header = await probe(file);
  if (header.problem)
    throw new ImageInputError(
      `${label} can't be opened: ${header.problem}. Export or download it again, then retry.`,
    );
  if (header.width !== undefined && header.height !== undefined) {
    const big = tooLargeMessage(header.width, header.height);
    if (big) throw new ImageInputError(big);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await decodeOriented(file);
  } catch {
    const what =
      header.format === 'unknown'
        ? 'is not an image this browser can read'
        : `looks like a ${header.format.toUpperCase()} but could not be decoded (it may be damaged)`;
    throw new ImageInputError(`${label} ${what}. Use a ${ACCEPTED} image.`);
  }
  if (bitmap.width === 0 || bitmap.height === 0) {
    bitmap.close();
    throw new ImageInputError(`${label} has no pixels. Choose another image.`);
  }
  const big = tooLargeMessage(bitmap.width, bitmap.height);
  if (big) {
    bitmap.close();
    throw new ImageInputError(big);
  }
  return { ref: { id: newId(), name, width: bitmap.width, height: bitmap.height, blob: file }, bitmap };
}
