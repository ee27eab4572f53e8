/**
 * The app's worker opens on WebGPU a package whose smallest WebGPU dtype fits the GPU though
 * config.max_buffer_bytes (the largest over its dtypes) does not, with that dtype: the same rule
 * as the library (e2e/pageExample.spec.ts), applied by the engine's opener for both.
 */
import { expect, test } from './fixtures';
import { unevenBuffersManifest } from './unevenBuffers';

test('the app opens a package whose smallest WebGPU dtype fits, with that dtype @webgpu', async ({
  editor,
  page,
}) => {
  await editor.open();
  await page
    .context()
    .route('**/models/tiny-random/manifest.json', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: unevenBuffersManifest() }),
    );
  const r = await editor.call('loadDirect', '/models/tiny-random/', 'webgpu', 'auto');
  expect(r.error).toBeNull();
  expect(r.model).toMatchObject({ backend: 'webgpu', dtype: 'fp32' });
});
