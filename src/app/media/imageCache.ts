/**
 * Decoded bitmaps of the images the editor shows, by image id. Small LRU: history can hold many
 * images, but only a few are on screen at once.
 */
import { decodeOriented } from './decode';
import type { ImageRef } from '../lib/types';

const LIMIT = 8;
const cache = new Map<string, Promise<ImageBitmap>>();

function touch(id: string, value: Promise<ImageBitmap>): void {
  cache.delete(id);
  cache.set(id, value);
  while (cache.size > LIMIT) cache.delete(cache.keys().next().value as string);
}

export function rememberBitmap(ref: ImageRef, bitmap: ImageBitmap): void {
  touch(ref.id, Promise.resolve(bitmap));
}

export function bitmapOf(ref: ImageRef): Promise<ImageBitmap> {
  const hit = cache.get(ref.id);
  const value = hit ?? decodeOriented(ref.blob);
  touch(ref.id, value);
  if (!hit) value.catch(() => cache.delete(ref.id));
  return value;
}
