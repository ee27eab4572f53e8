import { useEffect, useState } from 'react';
import { bitmapOf } from '../media/imageCache';
import type { ImageRef } from '../lib/types';

/** The decoded bitmap of an image (null while decoding or when there is no image). */
export function useBitmap(ref: ImageRef | null | undefined): ImageBitmap | null {
  const [state, setState] = useState<{ id: string; bitmap: ImageBitmap } | null>(null);
  useEffect(() => {
    if (!ref) return;
    let live = true;
    bitmapOf(ref)
      .then((bitmap) => live && setState({ id: ref.id, bitmap }))
      .catch(() => live && setState(null));
    return () => {
      live = false;
    };
  }, [ref]);
  return ref && state?.id === ref.id ? state.bitmap : null;
}
