import { describe, expect, it } from 'vitest';
import {
  checkEditSetting,
  DTYPES as ENGINE_DTYPES,
  EDIT_SETTINGS,
  fallbackEditOptions,
  NUMBER_SETTINGS,
} from '../../engine/index';
import {
  clamp,
  defaultSettings,
  DTYPES,
  FALLBACK_EDIT_SETTINGS,
  LIMITS,
  randomSeed,
  sanitizeEditSettings,
  sanitizeSettings,
} from './settings';

const defaults = defaultSettings('/models/tiny-random/');

describe('settings', () => {
  it('uses the engine’s ranges, fallbacks and dtypes, so nothing the UI allows is refused by the engine', () => {
    for (const name of NUMBER_SETTINGS) {
      const { min, max, step } = EDIT_SETTINGS[name];
      expect(LIMITS[name], name).toEqual({ min, max, step });
    }
    expect(FALLBACK_EDIT_SETTINGS).toEqual(fallbackEditOptions());
    expect(DTYPES).toEqual(['auto', ...ENGINE_DTYPES]);
    const extreme = sanitizeEditSettings({
      steps: 1e9,
      guidance: 1e308,
      referenceStrength: -1,
      hold: 7,
      seed: 2 ** 40,
    });
    for (const name of NUMBER_SETTINGS)
      expect(() => checkEditSetting(name, extreme[name]), name).not.toThrow();
  });

  it('clamps edit settings into range and rounds the integer ones', () => {
    const s = (raw: object) =>
      sanitizeEditSettings(raw, { ...FALLBACK_EDIT_SETTINGS, steps: 8, guidance: 4 });
    expect(s({ steps: 1000 }).steps).toBe(EDIT_SETTINGS.steps.max);
    expect(s({ steps: -3 }).steps).toBe(1);
    expect(s({ steps: 3.6 }).steps).toBe(4);
    expect(s({ hold: 0.33 }).hold).toBeCloseTo(0.33);
    expect(s({ steps: 'x' }).steps).toBe(8);
    expect(s({ guidance: Number.NaN }).guidance).toBe(4);
    expect(clamp(500, LIMITS.brushSize, 32)).toBe(200);
  });

  it('repairs a damaged stored record field by field', () => {
    const s = sanitizeSettings(
      {
        edit: { steps: 'many', guidance: 7, seed: -1, negativePrompt: 3 },
        backend: 'cuda',
        dtype: 'q4',
        modelUrl: '',
        overlay: { visible: false, opacity: 9 },
        brush: null,
      },
      defaults,
    );
    expect(s.edit.steps).toBe(defaults.edit.steps);
    expect(s.edit.guidance).toBe(7);
    expect(s.edit.seed).toBe(0);
    expect(s.edit.negativePrompt).toBe('');
    expect(s.backend).toBe('auto');
    expect(s.dtype).toBe('q4');
    expect(s.modelUrl).toBe('/models/tiny-random/');
    expect(s.overlay).toEqual({ visible: false, opacity: 1 });
    expect(s.brush).toEqual(defaults.brush);
  });

  it('falls back to the defaults for anything that is not a record', () => {
    expect(sanitizeSettings(null, defaults)).toBe(defaults);
    expect(sanitizeSettings('{}', defaults)).toBe(defaults);
    expect(sanitizeEditSettings(undefined)).toEqual(defaults.edit);
  });

  it('keeps valid values as they are', () => {
    const stored = {
      ...defaults,
      backend: 'wasm',
      edit: { ...defaults.edit, steps: 12, hold: 0.4, negativePrompt: 'blur', composite: true },
    };
    expect(sanitizeSettings(JSON.parse(JSON.stringify(stored)), defaults)).toEqual(stored);
  });

  it('draws seeds in range', () => {
    for (let i = 0; i < 20; i++) {
      const s = randomSeed();
      expect(Number.isInteger(s) && s >= 0 && s <= LIMITS.seed.max).toBe(true);
    }
  });
});
