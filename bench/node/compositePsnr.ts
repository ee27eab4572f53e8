/**
 * What the original-pixel composite buys, on real photos at their own size: the same edit with
 * the composite on and off, and PSNR against the source outside the edited region, with the step
 * time and readback of the edit. The edited region is an inpainting mask (the centre third of the
 * token grid), so "outside" is well defined and the same both ways; a one-cell band around it
 * (the composite's feathered seam) is left out. PSNRs are capped at PSNR_CAP (the composite can
 * give the outside back exactly). Settings: the package's defaults.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { packageEditOptions, psnr } from '../../src/engine/index';
import { cpuOptions, Editor, packageSource } from '../../src/engine/runtime/node/index';
import { cellMaskToPixels } from '../../src/engine/internal';
import { decodeImage } from '../../cli/imageIO';
import type { CompositePsnr } from '../report/types';
import { deltas, median } from '../report/stats';
import { PSNR_CAP } from './evalShapes';

export const PHOTOS = ['chelsea.png', 'coffee.png', 'astronaut.png', 'rocket.jpg'].map(
  (f) => `e2e/fixtures/photos/${f}`,
);
export const COMPOSITE_PROMPT = 'replace the centre with a red box';

/** [h·w] 1 in the centre third of the grid. */
export function centreMask(h: number, w: number): Uint8Array {
  const mask = new Uint8Array(h * w);
  for (let y = Math.floor(h / 3); y < Math.ceil((2 * h) / 3); y++)
    for (let x = Math.floor(w / 3); x < Math.ceil((2 * w) / 3); x++) mask[y * w + x] = 1;
  return mask;
}

/** The mask grown by one cell: the edited region plus the composite's seam band. */
function grown(mask: Uint8Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let near = 0;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++)
          near |= mask[Math.min(h - 1, Math.max(0, y + dy)) * w + Math.min(w - 1, Math.max(0, x + dx))]!;
      out[y * w + x] = near;
    }
  }
  return out;
}

export async function compositePsnr(
  modelDir: string,
  dtype: string,
  photos: readonly string[],
  steps: number,
): Promise<CompositePsnr[]> {
  const pkg = await Editor.open(packageSource(modelDir), cpuOptions(dtype, { now: () => performance.now() }));
  try {
    const { engine } = pkg;
    const { h, w } = pkg.spec.tokenGrid;
    const mask = centreMask(h, w);
    const settings = { ...packageEditOptions(pkg.manifest), steps, seed: 1 };
    const rows: CompositePsnr[] = [];
    for (const path of photos) {
      const image = decodeImage(readFileSync(path), path);
      const outside = cellMaskToPixels(grown(mask, h, w), h, w, image.width, image.height).map((v) => 1 - v);
      const at: number[] = [];
      let readback = 0;
      const on = await engine.edit(
        { image, prompt: COMPOSITE_PROMPT, ...settings, mask, composite: true },
        {
          onStep: (e) => {
            at.push(e.elapsedMs);
            readback = e.readbackBytes;
          },
        },
      );
      const off = await engine.edit({ image, prompt: COMPOSITE_PROMPT, ...settings, mask, composite: false });
      const stepMs = deltas(at); // step 0 carries the encoders
      rows.push({
        model: pkg.manifest.name,
        dtype: pkg.dtype,
        image: basename(path),
        width: image.width,
        height: image.height,
        steps,
        step_ms_median: stepMs.length ? median(stepMs) : null,
        readback_bytes_per_step: readback,
        psnr_outside_composite_off: Math.min(PSNR_CAP, psnr(off.image, image, outside)),
        psnr_outside_composite_on: Math.min(PSNR_CAP, psnr(on.image, image, outside)),
      });
    }
    return rows;
  } finally {
    await pkg.runner.release();
  }
}
