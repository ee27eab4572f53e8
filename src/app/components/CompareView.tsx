import { useState } from 'react';
import type { ImageRef } from '../lib/types';
import { ImageCanvas } from './ImageCanvas';
import { StageFrame } from './StageFrame';

/** Before/after with a slider: the result on the left of the split, the original on the right. */
export function CompareView({ before, after }: { before: ImageRef; after: ImageRef }) {
  const [split, setSplit] = useState(50);
  return (
    <div className="compare">
      <StageFrame width={after.width} height={after.height}>
        <ImageCanvas image={before} label="Before" testId="compare-before" />
        <div className="layer" style={{ clipPath: `inset(0 ${100 - split}% 0 0)` }}>
          <ImageCanvas image={after} label="After" testId="compare-after" />
        </div>
        <div className="split-line" style={{ left: `${split}%` }} aria-hidden="true" />
      </StageFrame>
      <label className="row">
        <span>After ◂ ▸ Before</span>
        <input
          type="range"
          min={0}
          max={100}
          value={split}
          onChange={(e) => setSplit(Number(e.currentTarget.value))}
          data-testid="compare-slider"
          aria-label="Before/after split"
        />
      </label>
    </div>
  );
}

export function SideBySide({ before, after }: { before: ImageRef; after: ImageRef }) {
  return (
    <div className="side-by-side" data-testid="side-by-side">
      <figure>
        <StageFrame width={before.width} height={before.height}>
          <ImageCanvas image={before} label="Before" />
        </StageFrame>
        <figcaption>Before</figcaption>
      </figure>
      <figure>
        <StageFrame width={after.width} height={after.height}>
          <ImageCanvas image={after} label="After" />
        </StageFrame>
        <figcaption>After</figcaption>
      </figure>
    </div>
  );
}
