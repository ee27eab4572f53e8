import { describe, expect, it } from 'vitest';
import {
  checkEditSetting,
  clampEditSetting,
  EDIT_SETTING_NAMES,
  EDIT_SETTINGS,
  fallbackEditOptions,
  NUMBER_SETTINGS,
} from './editSettings';
import { EditError } from './errors';
import manifestSchema from './manifest.schema.json' with { type: 'json' };

describe('edit settings table', () => {
  it('gives every setting a unique flag and a fallback inside its own range', () => {
    const flags = EDIT_SETTING_NAMES.map((k) => EDIT_SETTINGS[k].flag);
    expect(new Set(flags).size).toBe(flags.length);
    for (const k of NUMBER_SETTINGS) {
      const d = EDIT_SETTINGS[k];
      expect(d.min, k).toBeLessThan(d.max);
      expect(() => checkEditSetting(k, d.fallback), k).not.toThrow();
    }
    expect(Object.keys(fallbackEditOptions()).sort()).toEqual([...EDIT_SETTING_NAMES].sort());
  });

  it('refuses values outside the range or of the wrong kind, naming the setting', () => {
    const bad: [Parameters<typeof checkEditSetting>[0], unknown, RegExp][] = [
      ['steps', -3, /steps must be an integer from 1 to 100, got -3/],
      ['steps', 2.5, /steps must be an integer/],
      ['guidance', 1e308, /guidance must be a number from 0 to 20/],
      ['guidance', Number.NaN, /guidance/],
      ['referenceStrength', 0, /reference strength must be a number from 0.1 to 10/],
      ['hold', 1.5, /region hold λ/],
      ['negativePrompt', 3, /negative prompt must be text/],
      ['composite', 'yes', /true or false/],
    ];
    for (const [k, v, msg] of bad) {
      let err: unknown;
      try {
        checkEditSetting(k, v);
      } catch (e) {
        err = e;
      }
      expect(err, `${k}=${String(v)}`).toBeInstanceOf(EditError);
      expect((err as EditError).code).toBe('bad-settings');
      expect((err as Error).message).toMatch(msg);
    }
  });

  it('clamps stored numbers into range and rounds integer settings', () => {
    expect(clampEditSetting('steps', 1000, 16)).toBe(100);
    expect(clampEditSetting('steps', 3.6, 16)).toBe(4);
    expect(clampEditSetting('guidance', 'x', 2)).toBe(2);
    expect(clampEditSetting('hold', -1, 0.5)).toBe(0);
  });
});

/** The schema node a manifest key names ("defaults.steps" → properties.defaults.properties.steps). */
function schemaAt(key: string): Record<string, unknown> | undefined {
  type Node = Record<string, unknown> | undefined;
  let node: Node = manifestSchema as Record<string, unknown>;
  for (const part of key.split('.')) {
    // "defaults.temperature.0": an item of a tuple (prefixItems), else a property
    node = /^\d+$/.test(part)
      ? (node?.['prefixItems'] as Node[] | undefined)?.[Number(part)]
      : (node?.['properties'] as Record<string, Node> | undefined)?.[part];
  }
  return node;
}

const SCHEMA_TYPE = { integer: 'integer', number: 'number', text: 'string', boolean: 'boolean' } as const;

describe('the manifest schema agrees with the settings table', () => {
  it('gives each setting a package may default the table’s type and bounds', () => {
    const keyed = EDIT_SETTING_NAMES.filter((k) => EDIT_SETTINGS[k].manifestKey);
    expect(keyed.length).toBeGreaterThan(3);
    for (const name of keyed) {
      const d = EDIT_SETTINGS[name];
      const node = schemaAt(d.manifestKey!);
      expect(node, `${d.manifestKey} is not in manifest.schema.json`).toBeDefined();
      expect(node!['type'], `${d.manifestKey} type`).toBe(SCHEMA_TYPE[d.type]);
      if (d.type === 'integer' || d.type === 'number') {
        expect(
          {
            minimum: node!['minimum'],
            maximum: node!['maximum'],
            exclusiveMinimum: node!['exclusiveMinimum'],
          },
          d.manifestKey,
        ).toEqual({
          minimum: d.min,
          maximum: d.max,
          exclusiveMinimum: undefined,
        });
      }
    }
  });
});
