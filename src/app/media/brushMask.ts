/**
 * The inpainting brush mask: a canvas per image, painted in display coordinates and sent to the
 * worker at the image's size, white where the edit may change the image.
 */
import type { ImagePayload } from '../../protocol/messages';

const MAX_SIDE = 1024;
let layer: { imageId: string; canvas: OffscreenCanvas; painted: boolean } | null = null;

/** The mask canvas for an image (created empty on first use, replaced when the image changes). */
export function maskCanvas(imageId: string, width: number, height: number): OffscreenCanvas {
  if (layer?.imageId !== imageId) {
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    layer = {
      imageId,
      canvas: new OffscreenCanvas(
        Math.max(1, Math.round(width * scale)),
        Math.max(1, Math.round(height * scale)),
      ),
      painted: false,
    };
  }
  return layer.canvas;
}

/**
 * Paints a round-capped stroke from `from` to `to` (a dab when they are equal), in [0, 1] image
 * coordinates; `radius` is a fraction of the width. Strokes join consecutive pointer positions, so
 * a quick drag leaves no gaps.
 */
export function paintStroke(
  imageId: string,
  width: number,
  height: number,
  from: { x: number; y: number },
  to: { x: number; y: number },
  radius: number,
  erase: boolean,
): void {
  const canvas = maskCanvas(imageId, width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx || !layer) return;
  ctx.globalCompositeOperation = erase ? 'destination-out' : 'source-over';
  ctx.strokeStyle = 'rgba(255, 40, 90, 1)';
  ctx.lineWidth = 2 * Math.max(1, radius * canvas.width);
  ctx.lineCap = 'round';
  ctx.beginPath();
  ctx.moveTo(from.x * canvas.width, from.y * canvas.height);
  ctx.lineTo(to.x * canvas.width, to.y * canvas.height);
  ctx.stroke();
  layer.painted = layer.painted || !erase;
}

export function clearMask(imageId: string): void {
  if (layer?.imageId !== imageId) return;
  layer.canvas.getContext('2d')?.clearRect(0, 0, layer.canvas.width, layer.canvas.height);
  layer.painted = false;
}

export function hasMask(imageId: string): boolean {
  return layer?.imageId === imageId && layer.painted;
}

/**
 * The mask at the image's full size as the engine reads it (white where painted, black elsewhere,
 * opaque), or undefined when nothing is painted.
 */
export function maskPayload(imageId: string, width: number, height: number): ImagePayload | undefined {
  if (!hasMask(imageId) || !layer) return undefined;
  const ctx = new OffscreenCanvas(width, height).getContext('2d');
  if (!ctx) return undefined;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(layer.canvas, 0, 0, width, height);
  const data = ctx.getImageData(0, 0, width, height).data;
  for (let i = 0; i < data.length; i += 4) {
    const v = data[i + 3] > 127 ? 255 : 0;
    data[i] = v;
    data[i + 1] = v;
    data[i + 2] = v;
    data[i + 3] = 255;
  }
  return { width, height, buffer: data.buffer as ArrayBuffer };
}
