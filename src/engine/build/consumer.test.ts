/**
 * The package as an outside consumer sees it: built (vite + tsc, as `npm run build` does), then
 * imported by its name from a fresh folder whose node_modules/@editmgt/engine links to this
 * package (and nothing else), in a child process. The node example edits with the shipped tiny-random package and
 * must give the edit the engine gives in-process with the package's own defaults.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageEditOptions } from '../manifest';
import { cpuOptions, packageSource } from '../runtime/node/modelPackage';
import { Editor } from '../editor';

const ENGINE = fileURLToPath(new URL('..', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TINY = join(ROOT, 'public/models/tiny-random');
const EXAMPLE = join(ROOT, 'examples/node-edit.mjs');

let consumer: string;

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: consumer, encoding: 'utf8', timeout: 120_000 });
}

/** The example's picture, made here the same way. */
function gradient(width: number, height: number) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data.set([(x * 255) / width, (y * 255) / height, 128, 255], (y * width + x) * 4);
  return { width, height, data };
}

describe('@editmgt/engine from the outside', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', 'build'], { cwd: ENGINE, stdio: 'pipe', timeout: 180_000 });
    consumer = mkdtempSync(join(tmpdir(), 'editmgt-consumer-'));
    mkdirSync(join(consumer, 'node_modules/@editmgt'), { recursive: true });
    symlinkSync(ENGINE, join(consumer, 'node_modules/@editmgt/engine'), 'dir');
    // the example runs from the consumer's folder, so its imports resolve there, not in this repo
    copyFileSync(EXAMPLE, join(consumer, 'node-edit.mjs'));
  }, 200_000);

  afterAll(() => {
    if (consumer) rmSync(consumer, { recursive: true, force: true });
  });

  it('imports by name: the engine, its node and web entries, and the schema', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `const e = await import('@editmgt/engine');
       const n = await import('@editmgt/engine/node');
       const s = (await import('@editmgt/engine/manifest.schema.json', { with: { type: 'json' } })).default;
       console.log(JSON.stringify({ engine: typeof e.EditEngine, editor: typeof e.Editor, fromPretrained: typeof n.EditMGT.fromPretrained, runner: typeof n.OrtNodeRunner, schema: typeof s.properties }));`,
    ]);
    expect(JSON.parse(out)).toEqual({
      engine: 'function',
      editor: 'function',
      fromPretrained: 'function',
      runner: 'function',
      schema: 'object',
    });
  });

  it('runs the node example on tiny-random: the package defaults, the same edit as in-process', async () => {
    const printed = JSON.parse(
      node(['node-edit.mjs', TINY, 'make the sky purple']).trim().split('\n').pop()!,
    ) as Record<string, unknown>;

    const pkg = await Editor.open(packageSource(TINY), cpuOptions('fp32'));
    try {
      const defaults = packageEditOptions(pkg.manifest);
      const image = gradient(96, 64);
      const expected = await pkg.engine.edit({ ...defaults, image, prompt: 'make the sky purple', seed: 1 });
      expect(printed).toEqual({
        width: 96,
        height: 64,
        dtype: 'fp32',
        // tiny-random's manifest asks for 36 steps; the engine's own fallback is 16
        steps: defaults.steps,
        tokens: createHash('sha256').update(new Uint8Array(expected.tokens.buffer)).digest('hex'),
      });
      expect(defaults.steps).toBe(36);
    } finally {
      await pkg.runner.release();
    }
  });
});
