/**
 * On WebGPU, every node of the step graph runs on the GPU: the runtime's own placement log must
 * name no node on the CPU provider, for each dtype the package offers WebGPU.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DTYPES } from '../src/engine/index';
import { readManifest } from '../src/engine/runtime/node/index';
import { test, expect } from './fixtures';

const pkg = join('public', 'models', 'tiny-random');
const manifest = readManifest(pkg);
const webgpuDtypes = DTYPES.filter((d) => manifest.dtypes[d]?.providers.includes('webgpu'));

for (const dtype of webgpuDtypes) {
  test(`transformer_step (${dtype}) places no node on the CPU @webgpu`, async ({ editor, page }) => {
    await editor.open();
    if (dtype.includes('16')) {
      const info = await editor.call('backend', 'webgpu');
      // f16 graphs need the shader-f16 feature; the app never picks them without it.
      test.skip(!info.shaderF16, `this WebGPU adapter (${info.adapter}) has no shader-f16`);
    }
    const entry = manifest.dtypes[dtype]!.graphs.transformer_step;
    const bytes = [...readFileSync(join(pkg, entry.file))];
    // the weights: chunks beside the graph, handed over under the file names the graph uses
    const chunks = (entry.external_data ?? []).map((p) => ({
      path: p.split('/').pop()!,
      data: [...readFileSync(join(pkg, p))],
    }));
    const result = await page.evaluate(
      ([b, c]) =>
        window.__editmgt!.placement(
          new Uint8Array(b).buffer,
          'webgpu',
          c.map((e) => ({ path: e.path, data: new Uint8Array(e.data).buffer })),
        ),
      [bytes, chunks] as const,
    );
    // The log must show the placement report at all, or the check would pass vacuously.
    expect(
      result.log.some((l) => /placed on|Node placements/i.test(l)),
      result.log.slice(-20).join('\n'),
    ).toBe(true);
    expect(result.cpuNodes).toEqual([]);
  });
}
