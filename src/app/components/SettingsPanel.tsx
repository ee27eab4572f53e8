import type { ReactNode } from 'react';
import { BACKENDS, DTYPES, LIMITS, randomSeed } from '../lib/settings';
import type { BackendChoice } from '../../protocol/messages';
import type { DtypeChoice } from '../lib/settings';
import { clearMask } from '../media/brushMask';
import { current } from '../lib/history';
import { useActions, useEditor } from '../state/context';

function NumberField({ id, label, value, range, onChange, children }: { id: string; label: string; value: number; range: { min: number; max: number; step: number }; onChange: (v: number) => void; children?: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="row">
        <input id={id} data-testid={id} type="number" {...range} value={value} onChange={(e) => e.currentTarget.value !== '' && onChange(Number(e.currentTarget.value))} />
        {children}
      </div>
    </div>
  );
}

const BACKEND_LABEL: Record<BackendChoice, string> = { auto: 'Auto', webgpu: 'WebGPU', wasm: 'WASM (CPU)' };

/** Sampling settings, inpainting brush, backend and precision. */
export function SettingsPanel() {
  const s = useEditor((st) => st.settings);
  const hydrated = useEditor((st) => st.hydrated);
  const imageId = useEditor((st) => current(st.history)?.input.id ?? null);
  const { updateEdit, setBrush, setBackend, setDtype, maskChanged } = useActions();
  const e = s.edit;
  return (
    <details className="panel settings" open>
      <summary>
        <h2>Settings</h2>
      </summary>
      {/* Read-only until the saved settings are back, so an early change is not overwritten by them. */}
      <fieldset className="plain" disabled={!hydrated}>
      <div className="grid2">
        <NumberField id="steps" label="Steps" value={e.steps} range={LIMITS.steps} onChange={(v) => updateEdit({ steps: v })} />
        <NumberField id="guidance" label="Guidance" value={e.guidance} range={LIMITS.guidance} onChange={(v) => updateEdit({ guidance: v })} />
        <NumberField id="reference-strength" label="Reference strength" value={e.referenceStrength} range={LIMITS.referenceStrength} onChange={(v) => updateEdit({ referenceStrength: v })} />
        <NumberField id="hold" label="Region hold λ" value={e.hold} range={LIMITS.hold} onChange={(v) => updateEdit({ hold: v })} />
      </div>
      <NumberField id="seed" label="Seed" value={e.seed} range={LIMITS.seed} onChange={(v) => updateEdit({ seed: v })}>
        <button type="button" onClick={() => updateEdit({ seed: randomSeed() })} data-testid="randomise-seed">
          Randomise
        </button>
      </NumberField>
      <div className="field">
        <label htmlFor="negative-prompt">Negative prompt</label>
        <input id="negative-prompt" data-testid="negative-prompt" type="text" value={e.negativePrompt} placeholder="what to avoid" onChange={(ev) => updateEdit({ negativePrompt: ev.currentTarget.value })} />
      </div>
      <label className="row check">
        <input type="checkbox" checked={e.composite} onChange={(ev) => updateEdit({ composite: ev.currentTarget.checked })} />
        <span>Keep unchanged pixels from the original</span>
      </label>
      <label className="row check">
        <input type="checkbox" data-testid="brush-toggle" checked={s.brush.enabled} onChange={(ev) => setBrush({ enabled: ev.currentTarget.checked })} />
        <span>Inpainting: paint where to edit</span>
      </label>
      {s.brush.enabled && (
        <div className="row">
          <label className="row check">
            <span>Brush</span>
            <input type="range" {...LIMITS.brushSize} value={s.brush.size} onChange={(ev) => setBrush({ size: Number(ev.currentTarget.value) })} aria-label="Brush size" />
          </label>
          <button
            type="button"
            disabled={!imageId}
            onClick={() => {
              if (imageId) clearMask(imageId);
              maskChanged();
            }}
          >
            Clear mask
          </button>
        </div>
      )}
      <div className="grid2">
        <div className="field">
          <label htmlFor="backend">Backend</label>
          <select id="backend" data-testid="backend-select" value={s.backend} onChange={(ev) => setBackend(ev.currentTarget.value as BackendChoice)}>
            {BACKENDS.map((b) => (
              <option key={b} value={b}>
                {BACKEND_LABEL[b]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="dtype">Precision</label>
          <select id="dtype" data-testid="dtype-select" value={s.dtype} onChange={(ev) => setDtype(ev.currentTarget.value as DtypeChoice)}>
            {DTYPES.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </div>
      </div>
      </fieldset>
    </details>
  );
}
