/** StepPayload (wire) → StepFrame (typed arrays). Pure. */
import type { StepPayload } from '../../protocol/messages';
import type { StepFrame } from './types';

/** Pixel size of the palette preview: the token grid, or a square/aspect-matched multiple of it. */
export function previewSize(bytes: number, grid: [number, number]): [number, number] {
  const [rows, cols] = grid;
  const pixels = bytes / 4;
  if (pixels === rows * cols) return [cols, rows];
  const scale = Math.sqrt(pixels / (rows * cols));
  if (Number.isInteger(scale)) return [cols * scale, rows * scale];
  const side = Math.round(Math.sqrt(pixels));
  return side * side === pixels ? [side, side] : [0, 0];
}

export function toFrame(p: StepPayload): StepFrame {
  return {
    step: p.step,
    steps: p.steps,
    grid: p.grid,
    maskTokenId: p.maskTokenId,
    tokens: new Int32Array(p.tokens),
    drawn: new Int32Array(p.drawn),
    remasked: new Int32Array(p.remasked),
    attention: new Float32Array(p.attention),
    hold: new Uint8Array(p.hold),
    preview: new Uint8ClampedArray(p.preview),
    previewSize: previewSize(p.preview.byteLength, p.grid),
    elapsedMs: p.elapsedMs,
  };
}
