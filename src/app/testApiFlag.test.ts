import { describe, expect, it } from 'vitest';
import { testApiWanted } from './testApiFlag';

describe('test API flag', () => {
  it('is off for a plain page and a model link, on with ?test or the harness flag', () => {
    expect(testApiWanted('', undefined)).toBe(false);
    expect(testApiWanted('?model=%2Fmodels%2Fshapes%2F', undefined)).toBe(false);
    expect(testApiWanted('?testing=1', 'yes')).toBe(false);
    expect(testApiWanted('?test', undefined)).toBe(true);
    expect(testApiWanted('?model=x&test=1', undefined)).toBe(true);
    expect(testApiWanted('', true)).toBe(true);
  });
});
