/**
 * `npm run convert`'s command line: bad flags and a missing checkpoint are refused with one line
 * and exit 2, before anything is written (the conversions themselves are tested in
 * src/engine/runtime/node/convert/convert.test.ts).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main, TEMPLATES_ROOT, usage } from './convert';

const TEMPLATES = join(TEMPLATES_ROOT, 'tiny-random');

let dir: string;
let errors: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'editmgt-convert-cli-'));
  errors = [];
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run convert', () => {
  it.each([
    [['--out', 'x'], '--source is required'],
    [['--source', 'x'], '--out is required'],
    [['--source', 'x', '--out', 'y', '--dtype', 'q5'], '--dtype q5 is not one of fp32, fp16, q4, q4f16, q8'],
    [
      ['--source', 'x', '--out', 'y', '--resolution', '0x40'],
      '--resolution 0x40 is not a positive whole number',
    ],
    [['--sorce', 'x'], "Unknown option '--sorce'"],
  ])('%j is refused', async (argv, message) => {
    expect(await main(argv)).toBe(2);
    expect(errors.join('\n')).toContain(`convert: ${message}`);
  });

  it('a checkpoint folder that does not exist is named, and nothing is written', async () => {
    const out = join(dir, 'pkg');
    const missing = join(dir, 'nowhere');
    expect(await main(['--source', missing, '--out', out, '--templates', TEMPLATES, '--quiet'])).toBe(2);
    expect(errors.join('\n')).toContain(`checkpoint folder ${missing} does not exist`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a templates folder without a manifest is named', async () => {
    const out = join(dir, 'pkg');
    expect(await main(['--source', dir, '--out', out, '--templates', join(dir, 'none'), '--quiet'])).toBe(2);
    expect(errors.join('\n')).toContain(`templates folder ${join(dir, 'none')} has no manifest.json`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('--help lists every flag', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    expect(await main(['--help'])).toBe(0);
    for (const flag of ['--source', '--dtype', '--out', '--resolution', '--templates', '--json'])
      expect(usage()).toContain(flag);
    expect(lines.join('\n')).toBe(usage());
  });
});
