/** The CLI's setting flags come from the engine's settings table: names, parsing and usage lines. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  chooseDtype,
  describeRange,
  EDIT_SETTING_NAMES,
  EDIT_SETTINGS,
  NUMBER_SETTINGS,
} from '../src/engine/index';
import type { Manifest } from '../src/engine/index';
import { usage } from './edit';
import { NUMBER_FLAGS, readSettingFlags, settingFlagOptions, UsageError } from './editFlags';

function read(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: settingFlagOptions(), strict: true });
  return readSettingFlags(values);
}

describe('setting flags', () => {
  it('has a flag for every setting in the table, and the usage text names it with its range', () => {
    const options = settingFlagOptions();
    const text = usage();
    for (const name of EDIT_SETTING_NAMES) {
      const d = EDIT_SETTINGS[name];
      expect(options[d.flag], d.flag).toBeDefined();
      expect(text).toContain(`--${d.flag}`);
      expect(text).toContain(d.help);
    }
    for (const name of NUMBER_SETTINGS) expect(text).toContain(describeRange(EDIT_SETTINGS[name]));
    expect(NUMBER_FLAGS).toEqual(NUMBER_SETTINGS.map((k) => `--${EDIT_SETTINGS[k].flag}`));
    expect(NUMBER_FLAGS).toEqual(
      expect.arrayContaining(['--steps', '--guidance', '--reference-strength', '--hold', '--seed']),
    );
  });

  it("--dtype's help names the dtype the CLI really loads from a package that has them all", () => {
    const manifest = JSON.parse(readFileSync('public/models/tiny-random/manifest.json', 'utf8')) as Manifest;
    const line = usage()
      .split('\n')
      .find((l) => l.trimStart().startsWith('--dtype'))!;
    const first = /default: the first the package has of (\w+)/.exec(line)?.[1];
    expect(first).toBe(chooseDtype(manifest, 'cpu'));
    expect(Object.keys(manifest.dtypes)).toContain(first);
    expect(line).not.toContain('smallest');
  });

  it('reads the flags people already use, leaving unset ones to the model', () => {
    expect(read([])).toEqual({});
    expect(
      read([
        '--steps',
        '12',
        '--guidance',
        '2.5',
        '--reference-strength',
        '3',
        '--hold',
        '0.1',
        '--seed',
        '7',
        '--negative-prompt',
        'blur',
        '--no-composite',
      ]),
    ).toEqual({
      steps: 12,
      guidance: 2.5,
      referenceStrength: 3,
      hold: 0.1,
      seed: 7,
      negativePrompt: 'blur',
      composite: false,
    });
    expect(read(['--composite'])).toEqual({ composite: true });
  });

  it('refuses a value out of range or of the wrong kind, naming the flag', () => {
    expect(() => read(['--steps', '0'])).toThrow(
      new UsageError('--steps must be an integer from 1 to 100, got 0'),
    );
    expect(() => read(['--guidance', 'lots'])).toThrow(
      new UsageError('--guidance expects a number, got "lots"'),
    );
    expect(() => read(['--reference-strength', ' '])).toThrow(/--reference-strength expects a number/);
  });

  it('takes decimal notation only: 0x10 is not sixteen', () => {
    expect(() => read(['--guidance', '0x10'])).toThrow(
      new UsageError('--guidance expects a number in decimal notation (such as 6), got "0x10"'),
    );
    expect(() => read(['--steps', '0b11'])).toThrow(
      new UsageError('--steps expects an integer in decimal notation (such as 16), got "0b11"'),
    );
    expect(() => read(['--seed', '0o17'])).toThrow(/--seed expects an integer in decimal notation/);
    expect(() => read(['--hold', 'Infinity'])).toThrow(/--hold expects a number in decimal notation/);
    expect(read(['--guidance', '1e1', '--hold', '.5', '--steps', '+3', '--seed', '007'])).toEqual({
      guidance: 10,
      hold: 0.5,
      steps: 3,
      seed: 7,
    });
  });
});
