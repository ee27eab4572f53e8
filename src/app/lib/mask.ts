/** Checks the inpainting mask before a run, so a mask the model cannot use gets a clear message. Pure. */
import { maskToGrid } from '../../engine/internal';
import type { ImagePayload } from '../../protocol/messages';

/**
 * @param mask the painted mask at the image's size (white = edit), or undefined when nothing is painted
 * @param grid the model's token grid [rows, cols]
 * @returns what to do, or null when the mask selects at least one cell
 */
export function maskProblem(
  brushEnabled: boolean,
  mask: ImagePayload | undefined,
  grid: [number, number],
): string | null {
  if (!brushEnabled) return null;
  if (!mask)
    return 'Inpainting is on but nothing is painted: paint over the part to change, or switch Inpainting off in Settings.';
  const [rows, cols] = grid;
  const cells = maskToGrid(
    { width: mask.width, height: mask.height, data: new Uint8ClampedArray(mask.buffer) },
    rows,
    cols,
  );
  if (cells.some((v) => v !== 0)) return null;
  const cw = Math.ceil(mask.width / cols);
  const ch = Math.ceil(mask.height / rows);
  return `The painted area is too small for the model: cover at least one whole cell of its ${rows}×${cols} grid (about ${cw}×${ch} pixels of this image), or switch Inpainting off.`;
}
