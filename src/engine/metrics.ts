/** Image quality numbers for reports and tests. */
import type { RgbaImage } from './image';

/**
 * PSNR (dB) over RGB of the pixels where `include[i]` is 1 (all pixels when omitted);
 * Infinity when identical, NaN when no pixel is included.
 */
export function psnr(a: RgbaImage, b: RgbaImage, include?: Uint8Array): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error('psnr: sizes differ');
  const n = a.width * a.height;
  let se = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (include && !include[i]) continue;
    for (let c = 0; c < 3; c++) {
      const d = a.data[i * 4 + c]! - b.data[i * 4 + c]!;
      se += d * d;
    }
    count += 3;
  }
  if (count === 0) return NaN;
  const mse = se / count;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
