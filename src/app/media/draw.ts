/** Painting frames onto canvases: the token grid with this step's flips, the heatmap, outlines. */
import { heatmapRgba, maskOutline } from '../lib/heatmap';
import type { StepFrame } from '../lib/types';

/** Canvas pixels per token cell for the overlay layers (sharp cell edges at any zoom). */
export const CELL_PX = 8;

/** Rows and cols of a per-cell map: the token grid, else the largest square that fits. */
export function mapGrid(length: number, grid: [number, number]): [number, number] {
  if (length === grid[0] * grid[1]) return grid;
  const side = Math.round(Math.sqrt(length));
  return [side, side];
}

function gridImage(rgba: Uint8ClampedArray, cols: number, rows: number): OffscreenCanvas {
  const c = new OffscreenCanvas(cols, rows);
  c.getContext('2d')?.putImageData(new ImageData(new Uint8ClampedArray(rgba), cols, rows), 0, 0);
  return c;
}

export function sizeCanvas(
  canvas: HTMLCanvasElement,
  width: number,
  height: number,
): CanvasRenderingContext2D | null {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext('2d');
  ctx?.clearRect(0, 0, width, height);
  return ctx;
}

/** Without a palette preview, each token id gets a stable colour of its own. */
function tokenColours(tokens: Int32Array): Uint8ClampedArray {
  const out = new Uint8ClampedArray(tokens.length * 4);
  for (let i = 0; i < tokens.length; i++) {
    const h = Math.imul(tokens[i] + 1, 0x9e3779b1);
    out.set([(h >>> 24) & 255, (h >>> 16) & 255, (h >>> 8) & 255, 255], i * 4);
  }
  return out;
}

/**
 * Known cells show the palette preview; unknown (masked) cells dim the image under them;
 * cells revealed this step are ringed in cyan (re-masked cells are the dimmed ones).
 */
export function drawTokens(canvas: HTMLCanvasElement, f: StepFrame): void {
  const [rows, cols] = f.grid;
  const w = cols * CELL_PX;
  const h = rows * CELL_PX;
  const ctx = sizeCanvas(canvas, w, h);
  if (!ctx) return;
  ctx.imageSmoothingEnabled = false;
  const [pw, ph] = f.previewSize;
  if (pw > 0 && ph > 0) ctx.drawImage(gridImage(f.preview, pw, ph), 0, 0, w, h);
  else ctx.drawImage(gridImage(tokenColours(f.tokens), cols, rows), 0, 0, w, h);
  const unknown = new Uint8ClampedArray(rows * cols * 4);
  for (let i = 0; i < rows * cols; i++) if (f.tokens[i] === f.maskTokenId) unknown[i * 4 + 3] = 255;
  const unknownImage = gridImage(unknown, cols, rows);
  ctx.globalCompositeOperation = 'destination-out';
  ctx.drawImage(unknownImage, 0, 0, w, h);
  ctx.globalCompositeOperation = 'source-over';
  ctx.globalAlpha = 0.6;
  const dim = new Uint8ClampedArray(unknown);
  for (let i = 0; i < rows * cols; i++) if (dim[i * 4 + 3]) dim.set([16, 18, 28, 255], i * 4);
  ctx.drawImage(gridImage(dim, cols, rows), 0, 0, w, h);
  ctx.globalAlpha = 1;
  ctx.lineWidth = Math.max(1, CELL_PX / 4);
  const ring = (cells: Int32Array, colour: string) => {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    for (const i of cells)
      ctx.rect((i % cols) * CELL_PX + 1, Math.floor(i / cols) * CELL_PX + 1, CELL_PX - 2, CELL_PX - 2);
    ctx.stroke();
  };
  ring(f.drawn, '#3ce7ff');
}

/** The attention map coloured and smoothly upscaled (opacity is the element's CSS). */
export function drawHeatmap(canvas: HTMLCanvasElement, map: Float32Array, grid: [number, number]): void {
  const [rows, cols] = mapGrid(map.length, grid);
  const w = grid[1] * CELL_PX;
  const h = grid[0] * CELL_PX;
  const ctx = sizeCanvas(canvas, w, h);
  if (!ctx || rows * cols === 0) return;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(gridImage(heatmapRgba(map), cols, rows), 0, 0, w, h);
}

/** Region-hold outlines: `held` solid (what the run held), `preview` dashed (at the slider's λ). */
export function drawHoldOutlines(
  canvas: HTMLCanvasElement,
  grid: [number, number],
  held: Uint8Array | null,
  preview: Uint8Array | null,
): void {
  const [rows, cols] = grid;
  const ctx = sizeCanvas(canvas, cols * CELL_PX, rows * CELL_PX);
  if (!ctx) return;
  const stroke = (mask: Uint8Array, colour: string, dash: number[]) => {
    const [r, c] = mapGrid(mask.length, grid);
    const sx = (cols * CELL_PX) / c;
    const sy = (rows * CELL_PX) / r;
    ctx.setLineDash(dash);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (const [x0, y0, x1, y1] of maskOutline(mask, r, c)) {
      ctx.moveTo(x0 * sx, y0 * sy);
      ctx.lineTo(x1 * sx, y1 * sy);
    }
    ctx.stroke();
  };
  if (held) stroke(held, '#ffffff', []);
  if (preview) stroke(preview, '#7CFC00', [6, 4]);
}
