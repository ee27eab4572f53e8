/** The CLI end to end on the tiny model: success, and each bad input with a one-line message. */
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './edit';
import { decodeImage } from './imageIO';
import { withJpegMetadata, withTrailer } from '../src/engine/internal';
import { hasTiny, TINY } from '../src/engine/runtime/node/internal';

const dir = mkdtempSync(join(tmpdir(), 'editmgt-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writePng(
  path: string,
  w: number,
  h: number,
  px: (x: number, y: number) => [number, number, number],
): void {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = px(x, y);
      png.data.set([r, g, b, 255], (y * w + x) * 4);
    }
  }
  writeFileSync(path, PNG.sync.write(png));
}

async function run(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await main([...args, '--model', TINY, '--quiet'], (l) => lines.push(l));
  return { code, lines };
}

describe.skipIf(!hasTiny)('npm run edit (tiny model, onnxruntime-node)', () => {
  const img = join(dir, 'in.png');
  beforeAll(() => writePng(img, 90, 60, (x, y) => [x * 2, y * 4, 128]));

  it('edits a PNG and writes the result at the input size', async () => {
    const out = join(dir, 'out.png');
    const r = await run([
      '--image',
      img,
      '--prompt',
      'make it red',
      '--out',
      out,
      '--steps',
      '4',
      '--seed',
      '1',
    ]);
    expect(r).toEqual({ code: 0, lines: [] });
    const res = decodeImage(readFileSync(out));
    expect([res.width, res.height]).toEqual([90, 60]);
  });

  it("edits under the memory policy: the package's own, or --memory", async () => {
    const summaries: { memory: string; graphsLoaded: string[] }[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      summaries.push(JSON.parse(chunk) as { memory: string; graphsLoaded: string[] });
      return true;
    }) as typeof process.stdout.write;
    try {
      for (const memory of [[], ['--memory', 'phased'], ['--memory', 'release-text']]) {
        const out = join(dir, 'memory.png');
        const r = await run([
          '--image',
          img,
          '--prompt',
          'make it red',
          '--out',
          out,
          '--steps',
          '2',
          '--json',
          ...memory,
        ]);
        expect(r.code).toBe(0);
      }
    } finally {
      process.stdout.write = write;
    }
    const image = ['vq_encode', 'transformer_step', 'vq_decode'];
    // the tiny package is small: every graph stays; under a tighter policy the text graphs go
    // before the image phase, as the engine's policy says (a second engine without it kept them)
    expect(summaries.map((s) => s.memory)).toEqual(['all', 'phased', 'release-text']);
    expect(summaries[0]!.graphsLoaded.sort()).toEqual([...image, 'text_clip', 'text_llm'].sort());
    expect(summaries[1]!.graphsLoaded.sort()).toEqual([...image].sort());
    expect(summaries[2]!.graphsLoaded.sort()).toEqual([...image].sort());
  });

  it('refuses an unknown --memory policy', async () => {
    const r = await run(['--image', img, '--prompt', 'x', '--out', join(dir, 'm.png'), '--memory', 'none']);
    expect(r.code).toBe(2);
    expect(r.lines.join('\n')).toContain('--memory must be one of all, release-text, phased');
  });

  it('edits real photos (PNG and JPEG) and writes each at its original size', async () => {
    for (const [name, size] of [
      ['chelsea.png', [451, 300]],
      ['rocket.jpg', [640, 427]],
    ] as const) {
      const out = join(dir, `${name}.out.png`);
      const r = await run([
        '--image',
        join('e2e', 'fixtures', 'photos', name),
        '--prompt',
        'make the cat black',
        '--out',
        out,
        '--steps',
        '3',
      ]);
      expect(r).toEqual({ code: 0, lines: [] });
      const res = decodeImage(readFileSync(out));
      expect([res.width, res.height]).toEqual(size);
    }
  });

  it('same seed → identical output bytes', async () => {
    const a = join(dir, 'a.png');
    const b = join(dir, 'b.png');
    await run(['--image', img, '--prompt', 'x', '--out', a, '--steps', '3', '--seed', '9', '--no-composite']);
    await run(['--image', img, '--prompt', 'x', '--out', b, '--steps', '3', '--seed', '9', '--no-composite']);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  it('opens valid files with big metadata or data after their end (motion photo, bytes after IEND)', async () => {
    const rocket = readFileSync(join('e2e', 'fixtures', 'photos', 'rocket.jpg'));
    const chelsea = readFileSync(join('e2e', 'fixtures', 'photos', 'chelsea.png'));
    const portrait = readFileSync(join('e2e', 'fixtures', 'images', 'portrait-exif6.jpg'));
    const cases = [
      ['metadata.jpg', withJpegMetadata(rocket, 300_000), [640, 427]],
      ['motion.jpg', withTrailer(rocket, 300_000), [640, 427]],
      [
        'progressive-motion.jpg',
        withTrailer(readFileSync(join('e2e', 'fixtures', 'photos', 'rocket-progressive.jpg')), 300_000),
        [640, 427],
      ],
      ['after-iend.png', withTrailer(chelsea, 1), [451, 300]],
      ['rotated-metadata.jpg', withJpegMetadata(portrait, 70_000), [320, 480]], // EXIF still found and applied
    ] as const;
    for (const [name, bytes, size] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const out = join(dir, `${name}.out.png`);
      const r = await run(['--image', path, '--prompt', 'x', '--out', out, '--steps', '1']);
      expect(r, name).toEqual({ code: 0, lines: [] });
      const res = decodeImage(readFileSync(out));
      expect([res.width, res.height], name).toEqual(size);
    }
  });

  it('refuses a file that is not a decodable image', async () => {
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, 'this is not an image');
    const r = await run(['--image', bad, '--prompt', 'x', '--out', join(dir, 'o.png')]);
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/not a PNG or JPEG/);
    const trunc = join(dir, 'trunc.png');
    writeFileSync(trunc, readFileSync(img).subarray(0, 60));
    const t = await run(['--image', trunc, '--prompt', 'x', '--out', join(dir, 'o.png')]);
    expect([t.code, t.lines.length]).toEqual([2, 1]);
    expect(t.lines[0]).toMatch(/not a decodable image/);
  });

  it('refuses an image over 50 megapixels before decoding it', async () => {
    // a valid PNG signature + IHDR claiming 10000×6000 (60 MP); never decoded
    const big = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(big, 0);
    big.writeUInt32BE(13, 8);
    big.write('IHDR', 12, 'ascii');
    big.writeUInt32BE(10_000, 16);
    big.writeUInt32BE(6_000, 20);
    const path = join(dir, 'big.png');
    writeFileSync(path, big);
    const r = await run(['--image', path, '--prompt', 'x', '--out', join(dir, 'o.png')]);
    expect(r.code).toBe(2);
    expect(r.lines[0]).toMatch(/10000×6000 \(60 megapixels\); the limit is 50 megapixels/);
  });

  it('refuses an empty instruction', async () => {
    const r = await run(['--image', img, '--prompt', '  ', '--out', join(dir, 'o.png')]);
    expect(r).toEqual({ code: 2, lines: ['edit: the instruction is empty'] });
  });

  it('truncates an instruction over the token limit and warns', async () => {
    const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const r = await run(['--image', img, '--prompt', long, '--out', join(dir, 'long.png'), '--steps', '2']);
    expect(r.code).toBe(0);
    expect(r.lines.join('\n')).toMatch(/warning: the instruction is longer than the model reads/);
  });

  it('refuses bad flags with one line', async () => {
    for (const args of [
      ['--steps', 'many'],
      ['--seed', '-1'],
      ['--bogus', '1'],
      ['--dtype', 'int3'],
    ]) {
      const r = await run(['--image', img, '--prompt', 'x', '--out', join(dir, 'o.png'), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.lines).toHaveLength(1);
    }
  });

  it('refuses a manifest that fails the schema, and a file whose sha256 differs', async () => {
    const copy = join(dir, 'pkg');
    cpSync(TINY, copy, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(copy, 'manifest.json'), 'utf8')) as {
      config: { codebook_size: unknown };
    };
    manifest.config.codebook_size = 'lots';
    writeFileSync(join(copy, 'manifest.json'), JSON.stringify(manifest));
    const lines: string[] = [];
    let code = await main(
      ['--image', img, '--prompt', 'x', '--out', join(dir, 'o.png'), '--model', copy],
      (l) => lines.push(l),
    );
    expect(code).toBe(2);
    expect(lines[0]).toMatch(/manifest .*codebook_size/);

    copyFileSync(join(TINY, 'manifest.json'), join(copy, 'manifest.json'));
    const vq = join(copy, 'fp32', 'vq_decode.onnx');
    const bytes = readFileSync(vq);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(vq, bytes);
    lines.length = 0;
    code = await main(['--image', img, '--prompt', 'x', '--out', join(dir, 'o.png'), '--model', copy], (l) =>
      lines.push(l),
    );
    expect(code).toBe(2);
    expect(lines[0]).toMatch(/fp32\/vq_decode\.onnx has sha256 .* the manifest says/);
  });

  it('inpaints with a mask PNG and reads JPEG input', async () => {
    const mask = join(dir, 'mask.png');
    writePng(mask, 90, 60, (x) => (x < 45 ? [255, 255, 255] : [0, 0, 0]));
    const r = await run([
      '--image',
      img,
      '--prompt',
      'x',
      '--out',
      join(dir, 'inpaint.jpg'),
      '--mask',
      mask,
      '--steps',
      '3',
    ]);
    expect(r.code).toBe(0);
    expect(decodeImage(readFileSync(join(dir, 'inpaint.jpg'))).width).toBe(90);
  });
});

describe('image decoding', () => {
  it('applies the EXIF orientation of a JPEG (stored 480×320, orientation 6 → 320×480)', async () => {
    const path = new URL('../e2e/fixtures/images/portrait-exif6.jpg', import.meta.url);
    const img = decodeImage(readFileSync(path));
    expect([img.width, img.height]).toEqual([320, 480]);
  });
});
