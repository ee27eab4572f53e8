import { useEffect, useRef } from 'react';
import type { StepFrame } from '../lib/types';
import { drawTokens } from '../media/draw';

/** The token grid of one step: the palette preview filling in, this step's flips ringed. */
export function TokenLayer({ frame }: { frame: StepFrame }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) drawTokens(ref.current, frame);
  }, [frame]);
  return (
    <canvas
      ref={ref}
      className="layer pixelated"
      data-testid="token-grid"
      data-step={frame.step}
      aria-hidden="true"
    />
  );
}
