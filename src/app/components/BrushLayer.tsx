import { useEffect, useRef } from 'react';
import type { ImageRef } from '../lib/types';
import { maskCanvas, paintStroke } from '../media/brushMask';
import { sizeCanvas } from '../media/draw';
import { useActions, useApp } from '../state/context';

/** Paint where the edit may change the image (inpainting); right button or Alt erases. */
export function BrushLayer({ image }: { image: ImageRef }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const size = useApp((s) => s.settings.brush.size);
  const version = useApp((s) => s.maskVersion);
  const { maskChanged } = useActions();
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const mask = maskCanvas(image.id, image.width, image.height);
    sizeCanvas(canvas, mask.width, mask.height)?.drawImage(mask, 0, 0);
  }, [image, version]);

  const last = useRef<{ x: number; y: number } | null>(null);
  const paint = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (e.buttons === 0) {
      last.current = null;
      return;
    }
    const box = e.currentTarget.getBoundingClientRect();
    const at = { x: (e.clientX - box.left) / box.width, y: (e.clientY - box.top) / box.height };
    paintStroke(
      image.id,
      image.width,
      image.height,
      last.current ?? at,
      at,
      size / 2 / box.width,
      e.altKey || e.buttons === 2,
    );
    last.current = at;
    maskChanged();
  };
  return (
    <canvas
      ref={ref}
      className="layer brush"
      data-testid="brush-mask"
      aria-label="Inpainting mask: paint where the edit may change the image"
      onPointerDown={(e) => {
        e.currentTarget.setPointerCapture(e.pointerId);
        last.current = null;
        paint(e);
      }}
      onPointerMove={paint}
      onPointerUp={() => {
        last.current = null;
      }}
      onContextMenu={(e) => e.preventDefault()}
    />
  );
}
