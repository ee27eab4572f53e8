/**
 * Measurements on node for the report: per-step time, readback bytes, and PSNR outside the
 * edited region with and without the original-resolution composite.
 *   npx tsx cli/bench.ts [--model DIR] [--steps N] IMAGE...
 * The edited region is an inpainting mask (the centre third of the image), so "outside" is
 * well defined and the same with and without the composite.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cellMaskToPixels } from '../../src/engine/image';
import { psnr } from '../../src/engine/metrics';
import { EditEngine } from '../../src/engine/pipeline';
import { DEFAULT_MODEL } from '../../cli/edit';
import { decodeImage } from '../../cli/imageIO';
import { openPackage } from '../../cli/modelPackage';

const { values, positionals } = parseArgs({ options: { model: { type: 'string', default: DEFAULT_MODEL }, steps: { type: 'string', default: '16' } }, allowPositionals: true });
const pkg = await openPackage(values.model);
const engine = new EditEngine({ runner: pkg.runner, tokenizers: pkg.tokenizers, spec: pkg.spec, now: () => performance.now() });
const { h, w } = pkg.spec.tokenGrid;
const mask = new Uint8Array(h * w);
for (let y = Math.floor(h / 3); y < Math.ceil((2 * h) / 3); y++) for (let x = Math.floor(w / 3); x < Math.ceil((2 * w) / 3); x++) mask[y * w + x] = 1;
const steps = Number(values.steps);
console.log(`model ${pkg.manifest.name} ${pkg.dtype}, ${pkg.spec.width}px, grid ${h}×${w}, ${steps} steps`);
console.log('image                      size        ms/step(median)  readback/step  PSNR-out(composite off)  PSNR-out(on)');
for (const path of positionals) {
  const image = decodeImage(readFileSync(path), path);
  const stepMs: number[] = [];
  let last = 0;
  let readback = 0;
  const on = await engine.edit({ image, prompt: 'replace the centre with a red box', steps, seed: 1, mask }, (e) => {
    stepMs.push(e.elapsedMs - last);
    last = e.elapsedMs;
    readback = e.readbackBytes;
  });
  const off = await engine.edit({ image, prompt: 'replace the centre with a red box', steps, seed: 1, mask, composite: false });
  // outside = pixels whose cell is outside the mask, minus a one-cell seam band
  const grown = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let near = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) near |= mask[Math.min(h - 1, Math.max(0, y + dy)) * w + Math.min(w - 1, Math.max(0, x + dx))]!;
    grown[y * w + x] = near;
  }
  const outside = cellMaskToPixels(grown, h, w, image.width, image.height).map((v) => 1 - v);
  stepMs.shift(); // the first step includes session warm-up
  stepMs.sort((a, b) => a - b);
  const med = stepMs[Math.floor(stepMs.length / 2)] ?? NaN;
  const name = path.split('/').pop()!;
  console.log(`${name.padEnd(26)} ${`${image.width}×${image.height}`.padEnd(11)} ${med.toFixed(1).padStart(15)}  ${String(readback).padStart(13)}  ${psnr(off.image, image, outside).toFixed(2).padStart(23)}  ${String(psnr(on.image, image, outside).toFixed(2)).padStart(12)}`);
}
await pkg.runner.release();
