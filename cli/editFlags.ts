/**
 * The edit settings' command-line flags, derived from the engine's settings table
 * (src/engine/editSettings.ts): their names, parsing, range messages and usage lines. A setting
 * added to the table gets its flag here without an edit to this file.
 */
import {
  describeRange,
  DTYPES,
  EDIT_SETTING_NAMES,
  EDIT_SETTINGS,
  NUMBER_SETTINGS,
} from '../src/engine/index';
import type {
  Dtype,
  EditOptionValues,
  EditSettingName,
  MemoryPolicy,
  NumberSetting,
} from '../src/engine/index';
import { MEMORY_POLICIES } from '../src/engine/internal';

export { MEMORY_POLICIES };

/** A mistake in the command line (exit 2, one line). */
export class UsageError extends Error {}

type FlagOption = { type: 'string' } | { type: 'boolean' };

/** Flags that take a number: a negative value may follow them (`--steps -3`). */
export const NUMBER_FLAGS = NUMBER_SETTINGS.map((k) => `--${EDIT_SETTINGS[k].flag}`);

/**
 * `parseArgs` options for every setting. Numbers and text take a value; a switch is `--flag`
 * and `--no-flag` (its fallback decides which one matters: `--no-composite` turns compositing off).
 */
export function settingFlagOptions(): Record<string, FlagOption> {
  const out: Record<string, FlagOption> = {};
  for (const name of EDIT_SETTING_NAMES) {
    const d = EDIT_SETTINGS[name];
    if (d.type === 'boolean') {
      out[d.flag] = { type: 'boolean' };
      out[`no-${d.flag}`] = { type: 'boolean' };
    } else out[d.flag] = { type: 'string' };
  }
  return out;
}

/** Decimal notation only: `16`, `-0.5`, `.5`, `1e3`; not `0x10`, `0b1`, `0o7`, `Infinity` or `1_000`. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseNumber(raw: string, d: NumberSetting): number {
  const integer = d.type === 'integer';
  // what Number() would take but a person does not mean: 0x10 is not sixteen here
  if (raw.trim() !== '' && !Number.isNaN(Number(raw)) && !DECIMAL.test(raw.trim()))
    throw new UsageError(
      `--${d.flag} expects ${integer ? 'an integer' : 'a number'} in decimal notation (such as ${d.fallback}), got "${raw}"`,
    );
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${d.flag} expects ${integer ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  if (n < d.min || n > d.max) throw new UsageError(`--${d.flag} must be ${describeRange(d)}, got ${raw}`);
  return n;
}

/**
 * The settings the command line names (unset ones are absent, so the model's defaults fill them),
 * each parsed and range-checked against the table. Throws UsageError naming the flag.
 */
export function readSettingFlags(
  values: Record<string, string | boolean | undefined>,
): Partial<EditOptionValues> {
  const out: Partial<Record<EditSettingName, unknown>> = {};
  for (const name of EDIT_SETTING_NAMES) {
    const d = EDIT_SETTINGS[name];
    if (d.type === 'boolean') {
      const on = values[d.flag] === true;
      const off = values[`no-${d.flag}`] === true;
      if (on && off) throw new UsageError(`--${d.flag} and --no-${d.flag} contradict each other`);
      if (on || off) out[name] = on;
      continue;
    }
    const raw = values[d.flag];
    if (typeof raw !== 'string') continue;
    out[name] = d.type === 'text' ? raw : parseNumber(raw, d);
  }
  return out as Partial<EditOptionValues>;
}

/** One usage line per setting: flag, range and help, e.g. "--steps N  an integer from 1 to 100: …". */
export function settingUsageLines(): string[] {
  const rows = EDIT_SETTING_NAMES.map((name) => {
    const d = EDIT_SETTINGS[name];
    if (d.type === 'boolean')
      return [`--${d.flag} / --no-${d.flag}`, `${d.help} (default ${d.fallback ? 'on' : 'off'})`];
    if (d.type === 'text') return [`--${d.flag} TEXT`, d.help];
    const from = d.manifestKey ? 'the model’s default' : `default ${d.fallback}`;
    return [`--${d.flag} N`, `${describeRange(d)}, ${from}: ${d.help}`];
  });
  const width = Math.max(...rows.map((r) => r[0]!.length));
  return rows.map(([flag, text]) => `  ${flag!.padEnd(width)}  ${text}`);
}

/** `--dtype`: the engine's dtype list, or auto (the package's best for the CPU). */
export function readDtypeFlag(raw: string | undefined): Dtype | 'auto' {
  if (raw === undefined || raw === 'auto') return 'auto';
  if ((DTYPES as readonly string[]).includes(raw)) return raw as Dtype;
  throw new UsageError(`--dtype must be auto or one of ${DTYPES.join(', ')}, got "${raw}"`);
}

/** `--memory`: a memory policy, or undefined for the one the package's size gives. */
export function readMemoryFlag(raw: string | undefined): MemoryPolicy | undefined {
  if (raw === undefined) return undefined;
  if ((MEMORY_POLICIES as readonly string[]).includes(raw)) return raw as MemoryPolicy;
  throw new UsageError(`--memory must be one of ${MEMORY_POLICIES.join(', ')}, got "${raw}"`);
}
