/** Pixels between bitmaps, RGBA payloads, PNG blobs and thumbnails (main thread, canvas-based). */
import type { ImagePayload } from '../../protocol/messages';

function canvas2d(width: number, height: number): OffscreenCanvasRenderingContext2D {
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser gives no 2D canvas');
  return ctx;
}

/** RGBA8 of a bitmap at its own size (a fresh buffer, ready to transfer). */
export function rgbaOf(bitmap: ImageBitmap): ImagePayload {
  const ctx = canvas2d(bitmap.width, bitmap.height);
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  return { width: bitmap.width, height: bitmap.height, buffer: data.buffer as ArrayBuffer };
}

export function bitmapOfPayload(p: ImagePayload): Promise<ImageBitmap> {
  const data = new ImageData(new Uint8ClampedArray(p.buffer), p.width, p.height);
  return createImageBitmap(data);
}

export async function encodePng(bitmap: ImageBitmap): Promise<Blob> {
  const ctx = canvas2d(bitmap.width, bitmap.height);
  ctx.drawImage(bitmap, 0, 0);
  return ctx.canvas.convertToBlob({ type: 'image/png' });
}

function readAsDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the thumbnail'));
    reader.readAsDataURL(blob);
  });
}

/** A small JPEG data: URL, longest side `size` px. */
export async function thumbnail(bitmap: ImageBitmap, size = 112): Promise<string> {
  const scale = Math.min(1, size / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(1, Math.round(bitmap.width * scale));
  const h = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = canvas2d(w, h);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, w, h);
  return readAsDataUrl(await ctx.canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 }));
}
