import { useEffect, useRef } from 'react';
import { useBitmap } from '../hooks/useBitmap';
import type { ImageRef } from '../lib/types';
import { sizeCanvas } from '../media/draw';

const MAX_SIDE = 2048;

/** One image, drawn to fill its (aspect-matched) frame. */
export function ImageCanvas({ image, label, testId }: { image: ImageRef; label: string; testId?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const bitmap = useBitmap(image);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || !bitmap) return;
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const ctx = sizeCanvas(canvas, Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
    ctx?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  }, [bitmap]);
  return (
    <canvas
      ref={ref}
      className="layer"
      role="img"
      aria-label={label}
      data-testid={testId}
      data-image-id={image.id}
    />
  );
}
