/**
 * The person's settings: what an edit uses, and how the engine runs. Values read back from
 * storage are checked and clamped here, so a damaged record can never break the page. The edit
 * settings' ranges, steps and fallbacks come from the engine's settings table
 * (src/engine/editSettings.ts), as do the dtypes from the engine's list.
 */
import {
  clampEditSetting,
  DTYPES as ENGINE_DTYPES,
  EDIT_SETTING_NAMES,
  EDIT_SETTINGS,
  fallbackEditOptions,
  NUMBER_SETTINGS,
} from '../../engine/index';
import type { BackendChoice, Dtype, EditSettings } from '../../protocol/messages';

export type DtypeChoice = Dtype | 'auto';

export interface AppSettings {
  edit: EditSettings;
  backend: BackendChoice;
  dtype: DtypeChoice;
  modelUrl: string;
  /** Name of the model whose defaults `edit` started from; a different model resets them. */
  editDefaultsFrom: string | null;
  overlay: { visible: boolean; opacity: number };
  brush: { enabled: boolean; size: number };
}

export interface Range {
  readonly min: number;
  readonly max: number;
  readonly step: number;
}

type NumberSettingName = (typeof NUMBER_SETTINGS)[number];

/** Input ranges: every numeric edit setting's from the engine's table, the view's own beside them. */
export const LIMITS = {
  ...(Object.fromEntries(
    NUMBER_SETTINGS.map((name) => [
      name,
      { min: EDIT_SETTINGS[name].min, max: EDIT_SETTINGS[name].max, step: EDIT_SETTINGS[name].step },
    ]),
  ) as Record<NumberSettingName, Range>),
  opacity: { min: 0, max: 1, step: 0.05 },
  brushSize: { min: 2, max: 200, step: 1 },
} as const;

/** What an edit uses before a model's own defaults arrive: the engine's fallbacks. */
export const FALLBACK_EDIT_SETTINGS: EditSettings = fallbackEditOptions();

export const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];
export const DTYPES: readonly DtypeChoice[] = ['auto', ...ENGINE_DTYPES];

export function defaultSettings(modelUrl: string): AppSettings {
  return {
    edit: { ...FALLBACK_EDIT_SETTINGS },
    backend: 'auto',
    dtype: 'auto',
    modelUrl,
    editDefaultsFrom: null,
    overlay: { visible: true, opacity: 0.6 },
    brush: { enabled: false, size: 32 },
  };
}

/** A view setting (opacity, brush size) into its range; integer steps round. */
export function clamp(
  value: unknown,
  range: { min: number; max: number; step?: number },
  fallback: number,
): number {
  const n = typeof value === 'number' && Number.isFinite(value) ? value : fallback;
  const c = Math.min(range.max, Math.max(range.min, n));
  return range.step === 1 ? Math.round(c) : c;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Each edit setting checked against the table: numbers clamped into range, wrong kinds replaced by `base`'s. */
export function sanitizeEditSettings(
  raw: unknown,
  base: EditSettings = FALLBACK_EDIT_SETTINGS,
): EditSettings {
  const r = isObject(raw) ? raw : {};
  const out: Record<string, unknown> = {};
  for (const name of EDIT_SETTING_NAMES) {
    const d = EDIT_SETTINGS[name];
    const value = r[name];
    if (d.type === 'text') out[name] = typeof value === 'string' ? value : base[name];
    else if (d.type === 'boolean') out[name] = typeof value === 'boolean' ? value : base[name];
    else out[name] = clampEditSetting(name as NumberSettingName, value, base[name] as number);
  }
  return out as unknown as EditSettings;
}

/** Any stored value → valid settings (unknown or damaged fields fall back to the defaults). */
export function sanitizeSettings(raw: unknown, defaults: AppSettings): AppSettings {
  if (!isObject(raw)) return defaults;
  const overlay = isObject(raw.overlay) ? raw.overlay : {};
  const brush = isObject(raw.brush) ? raw.brush : {};
  return {
    edit: sanitizeEditSettings(raw.edit, defaults.edit),
    backend: BACKENDS.includes(raw.backend as BackendChoice)
      ? (raw.backend as BackendChoice)
      : defaults.backend,
    dtype: DTYPES.includes(raw.dtype as DtypeChoice) ? (raw.dtype as DtypeChoice) : defaults.dtype,
    modelUrl: typeof raw.modelUrl === 'string' && raw.modelUrl.length > 0 ? raw.modelUrl : defaults.modelUrl,
    editDefaultsFrom: typeof raw.editDefaultsFrom === 'string' ? raw.editDefaultsFrom : null,
    overlay: {
      visible: typeof overlay.visible === 'boolean' ? overlay.visible : defaults.overlay.visible,
      opacity: clamp(overlay.opacity, LIMITS.opacity, defaults.overlay.opacity),
    },
    brush: {
      enabled: typeof brush.enabled === 'boolean' ? brush.enabled : defaults.brush.enabled,
      size: clamp(brush.size, LIMITS.brushSize, defaults.brush.size),
    },
  };
}

/** A fresh seed; the UI's randomise button (randomness here is the person's choice, not the engine's). */
export function randomSeed(): number {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0] & 0x7fffffff;
}
