import { LEGEND_GRADIENT } from '../lib/heatmap';
import { LIMITS } from '../lib/settings';
import { useActions, useApp } from '../state/context';

/** Heatmap on/off, its opacity and colour legend, and λ (previewing the region it would hold). */
export function AttentionControls() {
  const overlay = useApp((s) => s.settings.overlay);
  const lambda = useApp((s) => s.settings.edit.hold);
  const { setOverlay, updateEdit } = useActions();
  return (
    <div className="attention-controls" role="group" aria-label="Attention overlay">
      <label className="row check">
        <input
          type="checkbox"
          data-testid="attention-toggle"
          checked={overlay.visible}
          onChange={(e) => setOverlay({ visible: e.currentTarget.checked })}
        />
        <span>Attention</span>
      </label>
      <label className="row">
        <span>Opacity</span>
        <input
          type="range"
          {...LIMITS.opacity}
          value={overlay.opacity}
          disabled={!overlay.visible}
          data-testid="attention-opacity"
          onChange={(e) => setOverlay({ opacity: Number(e.currentTarget.value) })}
        />
      </label>
      <div className="legend" aria-label="Colour legend: dark is low attention, bright is high">
        <span>low</span>
        <span className="legend-bar" style={{ background: LEGEND_GRADIENT }} />
        <span>high</span>
      </div>
      <label
        className="row"
        title="Region-hold λ: cells with attention below λ keep the source image (dashed outline previews them)"
      >
        <span>Hold λ</span>
        <input
          type="range"
          {...LIMITS.hold}
          value={lambda}
          data-testid="lambda-slider"
          onChange={(e) => updateEdit({ hold: Number(e.currentTarget.value) })}
        />
        <output className="num">{lambda.toFixed(2)}</output>
      </label>
    </div>
  );
}
