/**
 * The CLI's checks on its arguments, all made before the model is opened (each bad case below
 * names a model that does not exist, so only a check that comes first can answer), and its
 * output written atomically without ever replacing an input unasked.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { joinNegativeValues, main } from './edit';
import { decodeImage } from './imageIO';
import { hasTiny, TINY } from '../src/engine/runtime/node/internal';

const dir = mkdtempSync(join(tmpdir(), 'editmgt-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const photo = join('e2e', 'fixtures', 'photos', 'chelsea.png'); // 451×300
const NO_MODEL = join(dir, 'no-such-model');

async function edit(args: string[], model = NO_MODEL): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await main(
    ['--prompt', 'make it red', '--steps', '1', '--model', model, '--quiet', ...args],
    (l) => lines.push(l),
  );
  return { code, lines };
}

/** A copy of the photo to edit, so tests that write over it touch nothing shared. */
function inputCopy(name: string): string {
  const path = join(dir, name);
  copyFileSync(photo, path);
  return path;
}

describe('--out is checked before any work', () => {
  const cases: [string, string, RegExp][] = [
    ['a missing folder', join(dir, 'missing', 'out.png'), /the folder for --out .* does not exist/],
    ['a folder', dir, /--out .* is a folder; give a file name/],
    ['a folder with a slash', `${dir}/`, /--out .* is a folder; give a file name/],
    ['/proc', '/proc/out.png', /cannot write in the folder for --out .*\/proc/],
    ['an unknown extension', join(dir, 'out.webp'), /--out .* must end in \.png, \.jpg, \.jpeg/],
    ['no extension', join(dir, 'out'), /--out .* must end in \.png, \.jpg, \.jpeg/],
    ['a device', '/dev/null', /--out \/dev\/null is not a regular file/],
  ];
  it.each(cases)('refuses %s with one line', async (_what, out, message) => {
    const r = await edit(['--image', photo, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(message);
  });
});

describe('numeric flags and inputs are checked before any work', () => {
  const cases: [string, string[], RegExp][] = [
    ['negative steps', ['--steps', '-3'], /^edit: --steps must be an integer from 1 to 100, got -3$/],
    ['too many steps', ['--steps', '101'], /--steps must be an integer from 1 to 100, got 101/],
    ['fractional steps', ['--steps', '2.5'], /--steps expects an integer, got "2.5"/],
    ['huge guidance', ['--guidance', '1e308'], /--guidance must be a number from 0 to 20, got 1e308/],
    ['negative guidance', ['--guidance', '-0.5'], /--guidance must be a number from 0 to 20, got -0\.5/],
    [
      'huge reference strength',
      ['--reference-strength', '1e300'],
      /--reference-strength must be a number from 0.1 to 10/,
    ],
    ['a hold above 1', ['--hold', '1.5'], /--hold must be a number from 0 to 1, got 1\.5/],
    ['a seed past 2³¹ − 1', ['--seed', '2147483648'], /--seed must be an integer from 0 to 2147483647/],
    [
      'an unknown dtype',
      ['--dtype', 'int3'],
      /--dtype must be auto or one of fp32, fp16, q4, q4f16, q8, got "int3"/,
    ],
    [
      'a hexadecimal guidance',
      ['--guidance', '0x10'],
      /^edit: --guidance expects a number in decimal notation \(such as 6\), got "0x10"$/,
    ],
    ['a binary step count', ['--steps', '0b11'], /--steps expects an integer in decimal notation/],
    ['an octal seed', ['--seed', '0o17'], /--seed expects an integer in decimal notation/],
    [
      'both composite switches',
      ['--composite', '--no-composite'],
      /--composite and --no-composite contradict each other/,
    ],
  ];
  it.each(cases)('refuses %s with its range', async (_what, flags, message) => {
    const r = await edit(['--image', photo, '--out', join(dir, 'o.png'), ...flags]);
    expect(r).toEqual({ code: 2, lines: [expect.stringMatching(message)] });
  });

  const other: [string, string[], RegExp][] = [
    ['an empty --model', ['--model', ''], /^edit: --model needs a model package: .*; got ""$/],
    ['an empty --cache-dir', ['--cache-dir', ''], /^edit: --cache-dir needs a folder, got ""$/],
    [
      'an instruction of only invisible characters',
      ['--prompt', '\u200b\u200c\u200d\u2060\ufeff'],
      /^edit: the instruction has only invisible characters \(zero-width spaces, joiners or marks\)$/,
    ],
    [
      'an instruction of only direction marks and a soft hyphen',
      ['--prompt', ' \u200e\u200f\u00ad '],
      /^edit: the instruction has only invisible characters/,
    ],
  ];
  it.each(other)('refuses %s with one line', async (_what, flags, message) => {
    const r = await edit(['--image', photo, '--out', join(dir, 'o.png'), ...flags]);
    expect(r).toEqual({ code: 2, lines: [expect.stringMatching(message)] });
  });

  it('reads a negative number after a numeric flag as its value', () => {
    expect(joinNegativeValues(['--steps', '-3', '--prompt', '-x', '--hold', '-.5'])).toEqual([
      '--steps=-3',
      '--prompt',
      '-x',
      '--hold=-.5',
    ]);
  });

  it('refuses a device or a folder as the image, at once', async () => {
    for (const [image, message] of [
      ['/dev/zero', /the image \/dev\/zero is not a regular file/],
      [dir, /the image .* is not a regular file/],
      [join(dir, 'nothing.png'), /cannot read the image .*: no such file/],
    ] as const) {
      const t0 = performance.now();
      const r = await edit(['--image', image, '--out', join(dir, 'o.png')]);
      expect(r).toEqual({ code: 2, lines: [expect.stringMatching(message)] });
      expect(performance.now() - t0).toBeLessThan(2000);
    }
  });

  it('refuses a mask whose size differs from the image, naming both sizes', async () => {
    const mask = join(dir, 'small-mask.png');
    const png = new PNG({ width: 45, height: 30 });
    png.data.fill(255);
    writeFileSync(mask, PNG.sync.write(png));
    const r = await edit(['--image', photo, '--mask', mask, '--out', join(dir, 'o.png')]);
    expect(r).toEqual({
      code: 2,
      lines: ["edit: the mask is 45×30 but the image is 451×300; the mask must be the image's size"],
    });
  });
});

describe.skipIf(!hasTiny)('the result never replaces an input unasked, and lands whole', () => {
  it('refuses --out naming the input, however it is spelled, and keeps the input', async () => {
    const input = inputCopy('same.png');
    const before = readFileSync(input);
    const sub = join(dir, 'sub');
    mkdirSync(sub, { recursive: true });
    symlinkSync(input, join(sub, 'link.png'));
    for (const out of [
      input,
      relative(process.cwd(), input),
      join(dir, '.', 'sub', '..', 'same.png'),
      join(sub, 'link.png'),
    ]) {
      const r = await edit(['--image', input, '--out', out], TINY);
      expect(r.code, out).toBe(2);
      expect(r.lines, out).toEqual([
        expect.stringMatching(/is the same file as --image .*; choose another name, or pass --overwrite/),
      ]);
    }
    expect(readFileSync(input).equals(before)).toBe(true);
  });

  it('replaces the input when --overwrite is given, atomically, leaving no temporary file', async () => {
    const input = inputCopy('overwrite.png');
    const before = readFileSync(input);
    const r = await edit(['--image', input, '--out', input, '--overwrite'], TINY);
    expect(r).toEqual({ code: 0, lines: [] });
    const after = readFileSync(input);
    expect(after.equals(before)).toBe(false);
    expect([decodeImage(after).width, decodeImage(after).height]).toEqual([451, 300]);
    expect(readdirSync(dir).filter((f) => f.includes('.part') || f.includes('write-test'))).toEqual([]);
  });

  it('writes through a symlinked --out to its target, keeping the link', async () => {
    const target = join(dir, 'target.png');
    writeFileSync(target, 'old');
    const link = join(dir, 'result-link.png');
    symlinkSync(target, link);
    const r = await edit(['--image', photo, '--out', link], TINY);
    expect(r).toEqual({ code: 0, lines: [] });
    expect(decodeImage(readFileSync(target)).width).toBe(451);
    expect(existsSync(link) && statSync(link).ino).toBe(statSync(target).ino);
  });
});
