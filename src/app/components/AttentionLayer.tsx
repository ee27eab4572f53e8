import { useEffect, useMemo, useRef } from 'react';
import { heldCells, normalise } from '../lib/heatmap';
import type { StepFrame } from '../lib/types';
import { drawHeatmap, drawHoldOutlines } from '../media/draw';

interface Props {
  frame: StepFrame;
  /** A per-word map to show instead of the consolidated one. */
  wordMap: Float32Array | null;
  opacity: number;
  /** λ the run used, and λ on the slider now (a different value previews its held region). */
  runLambda: number;
  lambda: number;
}

/** The attention heatmap over the image, with the region-hold outlines. */
export function AttentionLayer({ frame, wordMap, opacity, runLambda, lambda }: Props) {
  const heat = useRef<HTMLCanvasElement>(null);
  const outline = useRef<HTMLCanvasElement>(null);
  const map = useMemo(() => (wordMap ? normalise(wordMap) : frame.attention), [wordMap, frame]);
  useEffect(() => {
    if (heat.current) drawHeatmap(heat.current, map, frame.grid);
  }, [map, frame.grid]);
  useEffect(() => {
    if (!outline.current) return;
    const held = frame.hold.some((v) => v !== 0) ? frame.hold : null;
    const preview = lambda !== runLambda && lambda > 0 ? heldCells(frame.attention, lambda) : null;
    drawHoldOutlines(outline.current, frame.grid, held, preview);
  }, [frame, lambda, runLambda]);
  return (
    <>
      <canvas
        ref={heat}
        className="layer"
        style={{ opacity }}
        data-testid="attention-map"
        data-step={frame.step}
        data-word={wordMap ? 'yes' : 'no'}
        role="img"
        aria-label={`Attention map at step ${frame.step}`}
      />
      <canvas ref={outline} className="layer" data-testid="hold-outline" aria-hidden="true" />
    </>
  );
}
