/**
 * Every edit setting, described once: its name in the engine (and the app and protocol), its key
 * in a model package's manifest, its command-line flag, type, range, fallback default and help.
 * The engine's validation, the app's limits and settings panel, the CLI's flags and the check
 * against the manifest schema all read this table; adding a sampler option is one entry here plus
 * the engine's use of it.
 */
import { EditError } from './errors';

interface SettingBase {
  /** What the person sees, e.g. in the settings panel and in error messages. */
  readonly label: string;
  /** Long command-line flag, without the dashes. */
  readonly flag: string;
  /** Where the model package gives its default ("defaults.steps", "negative_prompt"), if it does. */
  readonly manifestKey?: string;
  readonly help: string;
}

export interface NumberSetting extends SettingBase {
  readonly type: 'integer' | 'number';
  readonly min: number;
  readonly max: number;
  /** The UI's increment. */
  readonly step: number;
  /** When the model package says nothing. */
  readonly fallback: number;
}

export interface TextSetting extends SettingBase {
  readonly type: 'text';
  readonly fallback: string;
}

export interface SwitchSetting extends SettingBase {
  readonly type: 'boolean';
  readonly fallback: boolean;
}

/** The options one edit takes (all optional in a request: the model's defaults fill the rest). */
export interface EditOptionValues {
  steps: number;
  guidance: number;
  referenceStrength: number;
  hold: number;
  seed: number;
  negativePrompt: string;
  composite: boolean;
}

export type EditSettingName = keyof EditOptionValues;

type Descriptor<V> = V extends number ? NumberSetting : V extends string ? TextSetting : SwitchSetting;

export const EDIT_SETTINGS: { readonly [K in EditSettingName]: Descriptor<EditOptionValues[K]> } = {
  steps: {
    label: 'Steps',
    flag: 'steps',
    manifestKey: 'defaults.steps',
    type: 'integer',
    min: 1,
    max: 100,
    step: 1,
    fallback: 16,
    help: 'sampling steps: more is slower and usually cleaner',
  },
  guidance: {
    label: 'Guidance',
    flag: 'guidance',
    manifestKey: 'defaults.guidance_scale',
    type: 'number',
    min: 0,
    max: 20,
    step: 0.5,
    fallback: 6,
    help: 'classifier-free guidance scale: how strongly the instruction steers the edit (≤ 1 runs without guidance)',
  },
  referenceStrength: {
    label: 'Reference strength',
    flag: 'reference-strength',
    manifestKey: 'defaults.reference_strength',
    type: 'number',
    min: 0.1,
    max: 10,
    step: 0.1,
    fallback: 1.1,
    help: 'how strongly the transformer attends to the source image',
  },
  hold: {
    label: 'Region hold λ',
    flag: 'hold',
    manifestKey: 'defaults.region_hold_lambda',
    type: 'number',
    min: 0,
    max: 1,
    step: 0.01,
    fallback: 0,
    help: 'keep source tokens where the attention is below λ (0 turns region-hold off)',
  },
  seed: {
    label: 'Seed',
    flag: 'seed',
    type: 'integer',
    min: 0,
    max: 2 ** 31 - 1,
    step: 1,
    fallback: 0,
    help: 'the random seed: the same seed, image and settings give the same edit',
  },
  negativePrompt: {
    label: 'Negative prompt',
    flag: 'negative-prompt',
    manifestKey: 'negative_prompt',
    type: 'text',
    fallback: '',
    help: 'what to steer away from (the model’s own negative prompt by default)',
  },
  composite: {
    label: 'Keep unchanged pixels from the original',
    flag: 'composite',
    type: 'boolean',
    fallback: true,
    help: 'where the result’s tokens equal the source’s, keep the original pixels (feathered seam)',
  },
};

export const EDIT_SETTING_NAMES = Object.keys(EDIT_SETTINGS) as EditSettingName[];

/** The settings whose values are numbers. */
export type NumberSettingName = {
  [K in EditSettingName]: EditOptionValues[K] extends number ? K : never;
}[EditSettingName];

/** The numeric settings, for code that walks ranges (UI limits, CLI parsing). */
export const NUMBER_SETTINGS = EDIT_SETTING_NAMES.filter((k) => {
  const t = EDIT_SETTINGS[k].type;
  return t === 'integer' || t === 'number';
}) as NumberSettingName[];

/** The settings' fallback values (a model package's own defaults take precedence). */
export function fallbackEditOptions(): EditOptionValues {
  const out = {} as Record<EditSettingName, unknown>;
  for (const k of EDIT_SETTING_NAMES) out[k] = EDIT_SETTINGS[k].fallback;
  return out as unknown as EditOptionValues;
}

/** "an integer from 1 to 100" / "a number from 0 to 20" */
export function describeRange(d: NumberSetting): string {
  return `${d.type === 'integer' ? 'an integer' : 'a number'} from ${d.min} to ${d.max}`;
}

/** Throws EditError('bad-settings') naming the setting when `value` is outside its range or type. */
export function checkEditSetting<K extends EditSettingName>(name: K, value: unknown): EditOptionValues[K] {
  const d = EDIT_SETTINGS[name] as NumberSetting | TextSetting | SwitchSetting;
  if (d.type === 'text') {
    if (typeof value !== 'string')
      throw new EditError('bad-settings', `${d.label.toLowerCase()} must be text`);
  } else if (d.type === 'boolean') {
    if (typeof value !== 'boolean')
      throw new EditError('bad-settings', `${d.label.toLowerCase()} must be true or false`);
  } else {
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= d.min &&
      value <= d.max &&
      (d.type === 'number' || Number.isInteger(value));
    if (!ok)
      throw new EditError(
        'bad-settings',
        `${d.label.toLowerCase()} must be ${describeRange(d)}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
      );
  }
  return value as EditOptionValues[K];
}

/** Clamps a stored or typed number into the setting's range (the UI's inputs; never throws). */
export function clampEditSetting(name: NumberSettingName, value: unknown, fallback: number): number {
  const d = EDIT_SETTINGS[name];
  const n = typeof value === 'number' && Number.isFinite(value) ? value : fallback;
  const c = Math.min(d.max, Math.max(d.min, n));
  return d.type === 'integer' ? Math.round(c) : c;
}
