/**
 * The person's settings: what an edit uses, and how the engine runs. Values read back from
 * storage are checked and clamped here, so a damaged record can never break the page.
 */
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

export const LIMITS = {
  steps: { min: 1, max: 64, step: 1 },
  guidance: { min: 0, max: 20, step: 0.5 },
  referenceStrength: { min: 0.1, max: 10, step: 0.1 },
  hold: { min: 0, max: 1, step: 0.01 },
  seed: { min: 0, max: 2 ** 31 - 1, step: 1 },
  opacity: { min: 0, max: 1, step: 0.05 },
  brushSize: { min: 2, max: 200, step: 1 },
} as const;

export const FALLBACK_EDIT_SETTINGS: EditSettings = {
  steps: 16,
  guidance: 4,
  referenceStrength: 1,
  hold: 0,
  seed: 0,
  negativePrompt: '',
  composite: false,
};

export const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];
export const DTYPES: readonly DtypeChoice[] = ['auto', 'fp32', 'fp16', 'q8', 'q4', 'q4f16'];

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

export function clamp(value: unknown, range: { min: number; max: number; step?: number }, fallback: number): number {
  const n = typeof value === 'number' && Number.isFinite(value) ? value : fallback;
  const c = Math.min(range.max, Math.max(range.min, n));
  return range.step === 1 ? Math.round(c) : c;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export function sanitizeEditSettings(raw: unknown, base: EditSettings = FALLBACK_EDIT_SETTINGS): EditSettings {
  const r = isObject(raw) ? raw : {};
  return {
    steps: clamp(r.steps, LIMITS.steps, base.steps),
    guidance: clamp(r.guidance, LIMITS.guidance, base.guidance),
    referenceStrength: clamp(r.referenceStrength, LIMITS.referenceStrength, base.referenceStrength),
    hold: clamp(r.hold, LIMITS.hold, base.hold),
    seed: clamp(r.seed, LIMITS.seed, base.seed),
    negativePrompt: typeof r.negativePrompt === 'string' ? r.negativePrompt : base.negativePrompt,
    composite: typeof r.composite === 'boolean' ? r.composite : base.composite,
  };
}

/** Any stored value → valid settings (unknown or damaged fields fall back to the defaults). */
export function sanitizeSettings(raw: unknown, defaults: AppSettings): AppSettings {
  if (!isObject(raw)) return defaults;
  const overlay = isObject(raw.overlay) ? raw.overlay : {};
  const brush = isObject(raw.brush) ? raw.brush : {};
  return {
    edit: sanitizeEditSettings(raw.edit, defaults.edit),
    backend: BACKENDS.includes(raw.backend as BackendChoice) ? (raw.backend as BackendChoice) : defaults.backend,
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
