import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * tiny-random's manifest as a package whose dtypes need different GPU buffers: fp32 what it
 * needs, every other WebGPU dtype (and so config.max_buffer_bytes, the largest over them) 1 TiB,
 * more than any GPU allows. Every web host opens it on WebGPU with fp32.
 */
export function unevenBuffersManifest(root = '.'): string {
  const m = JSON.parse(readFileSync(join(root, 'public/models/tiny-random/manifest.json'), 'utf8')) as {
    config: { max_buffer_bytes: number };
    dtypes: Record<string, { max_buffer_bytes: number }>;
  };
  for (const [d, e] of Object.entries(m.dtypes)) if (d !== 'fp32') e.max_buffer_bytes = 2 ** 40;
  m.config.max_buffer_bytes = 2 ** 40;
  return JSON.stringify(m);
}
