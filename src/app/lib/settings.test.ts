import { describe, expect, it } from 'vitest';
import { clamp, defaultSettings, LIMITS, randomSeed, sanitizeEditSettings, sanitizeSettings } from './settings';

const defaults = defaultSettings('/models/tiny-random/');

describe('settings', () => {
  it('clamps to the range and rounds integer ranges', () => {
    expect(clamp(100, LIMITS.steps, 8)).toBe(64);
    expect(clamp(-3, LIMITS.steps, 8)).toBe(1);
    expect(clamp(3.6, LIMITS.steps, 8)).toBe(4);
    expect(clamp(0.33, LIMITS.hold, 0)).toBeCloseTo(0.33);
    expect(clamp('x', LIMITS.steps, 8)).toBe(8);
    expect(clamp(Number.NaN, LIMITS.guidance, 4)).toBe(4);
  });

  it('repairs a damaged stored record field by field', () => {
    const s = sanitizeSettings(
      { edit: { steps: 'many', guidance: 7, seed: -1, negativePrompt: 3 }, backend: 'cuda', dtype: 'q4', modelUrl: '', overlay: { visible: false, opacity: 9 }, brush: null },
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
    const stored = { ...defaults, backend: 'wasm', edit: { ...defaults.edit, steps: 12, hold: 0.4, negativePrompt: 'blur', composite: true } };
    expect(sanitizeSettings(JSON.parse(JSON.stringify(stored)), defaults)).toEqual(stored);
  });

  it('draws seeds in range', () => {
    for (let i = 0; i < 20; i++) {
      const s = randomSeed();
      expect(Number.isInteger(s) && s >= 0 && s <= LIMITS.seed.max).toBe(true);
    }
  });
});
