import type { ReactNode } from 'react';
import { MAX_INPUT_PIXELS } from '../../engine/index';
import { current } from '../lib/history';
import { useApp } from '../state/context';
import { CompareView, SideBySide } from './CompareView';
import { EditView } from './EditView';

/** The picture area: the edit view, before/after, or side by side. */
export function Stage({ dragging }: { dragging: boolean }) {
  const entry = useApp((s) => current(s.history));
  const view = useApp((s) => s.view);
  let body: ReactNode;
  if (!entry) {
    body = (
      <div className="stage-empty" data-testid="stage-empty">
        <p>Drop a photo here, paste one, or use “Choose image…”.</p>
        <p className="hint">
          PNG, JPEG, WebP, GIF, BMP or AVIF, up to {MAX_INPUT_PIXELS / 1e6} megapixels. Nothing leaves your
          machine.
        </p>
      </div>
    );
  } else if (view === 'compare' && entry.result) {
    body = <CompareView before={entry.input} after={entry.result} />;
  } else if (view === 'side' && entry.result) {
    body = <SideBySide before={entry.input} after={entry.result} />;
  } else {
    body = <EditView entry={entry} />;
  }
  return (
    <section className={`stage${dragging ? ' dragging' : ''}`} aria-label="Image" data-testid="stage">
      {body}
      {dragging && <div className="drop-hint">Drop to open</div>}
    </section>
  );
}
