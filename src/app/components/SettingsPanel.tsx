import type { ReactNode } from 'react';
import { EDIT_SETTINGS, NUMBER_SETTINGS } from '../../engine/index';
import { BACKENDS, DTYPES, LIMITS, randomSeed } from '../lib/settings';
import type { BackendChoice } from '../../protocol/messages';
import type { DtypeChoice } from '../lib/settings';
import { clearMask } from '../media/brushMask';
import { current } from '../lib/history';
import { useActions, useApp } from '../state/context';

type NumberName = (typeof NUMBER_SETTINGS)[number];

/**
 * One numeric edit setting: label, range, step and help (as the tooltip) from the engine's
 * settings table; the element id is the setting's CLI flag, so page and CLI share one name.
 */
function NumberField({
  name,
  value,
  onChange,
  children,
}: {
  name: NumberName;
  value: number;
  onChange: (v: number) => void;
  children?: ReactNode;
}) {
  const d = EDIT_SETTINGS[name];
  return (
    <div className="field" title={d.help}>
      <label htmlFor={d.flag}>{d.label}</label>
      <div className="row">
        <input
          id={d.flag}
          data-testid={d.flag}
          type="number"
          {...LIMITS[name]}
          value={value}
          onChange={(e) => e.currentTarget.value !== '' && onChange(Number(e.currentTarget.value))}
        />
        {children}
      </div>
    </div>
  );
}

const BACKEND_LABEL: Record<BackendChoice, string> = { auto: 'Auto', webgpu: 'WebGPU', wasm: 'WASM (CPU)' };

/** Sampling settings, inpainting brush, backend and precision. */
export function SettingsPanel() {
  const s = useApp((st) => st.settings);
  const hydrated = useApp((st) => st.hydrated);
  const imageId = useApp((st) => current(st.history)?.input.id ?? null);
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
          {NUMBER_SETTINGS.filter((name) => name !== 'seed').map((name) => (
            <NumberField key={name} name={name} value={e[name]} onChange={(v) => updateEdit({ [name]: v })} />
          ))}
        </div>
        <NumberField name="seed" value={e.seed} onChange={(v) => updateEdit({ seed: v })}>
          <button
            type="button"
            onClick={() => updateEdit({ seed: randomSeed() })}
            data-testid="randomise-seed"
          >
            Randomise
          </button>
        </NumberField>
        <div className="field" title={EDIT_SETTINGS.negativePrompt.help}>
          <label htmlFor={EDIT_SETTINGS.negativePrompt.flag}>{EDIT_SETTINGS.negativePrompt.label}</label>
          <input
            id={EDIT_SETTINGS.negativePrompt.flag}
            data-testid={EDIT_SETTINGS.negativePrompt.flag}
            type="text"
            value={e.negativePrompt}
            placeholder="what to avoid"
            onChange={(ev) => updateEdit({ negativePrompt: ev.currentTarget.value })}
          />
        </div>
        <label className="row check" title={EDIT_SETTINGS.composite.help}>
          <input
            type="checkbox"
            data-testid={EDIT_SETTINGS.composite.flag}
            checked={e.composite}
            onChange={(ev) => updateEdit({ composite: ev.currentTarget.checked })}
          />
          <span>{EDIT_SETTINGS.composite.label}</span>
        </label>
        <label className="row check">
          <input
            type="checkbox"
            data-testid="brush-toggle"
            checked={s.brush.enabled}
            onChange={(ev) => setBrush({ enabled: ev.currentTarget.checked })}
          />
          <span>Inpainting: paint where to edit</span>
        </label>
        {s.brush.enabled && (
          <div className="row">
            <label className="row check">
              <span>Brush</span>
              <input
                type="range"
                {...LIMITS.brushSize}
                value={s.brush.size}
                onChange={(ev) => setBrush({ size: Number(ev.currentTarget.value) })}
                aria-label="Brush size"
              />
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
            <select
              id="backend"
              data-testid="backend-select"
              value={s.backend}
              onChange={(ev) => setBackend(ev.currentTarget.value as BackendChoice)}
            >
              {BACKENDS.map((b) => (
                <option key={b} value={b}>
                  {BACKEND_LABEL[b]}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="dtype">Precision</label>
            <select
              id="dtype"
              data-testid="dtype-select"
              value={s.dtype}
              onChange={(ev) => setDtype(ev.currentTarget.value as DtypeChoice)}
            >
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
