/**
 * The manifest's `codebook_colors`: the mean RGB of each VQ code, as the exporter computes it
 * (package.py `codebook_mosaics`, `patch_means`). Token grids in which every code fills a 2×2
 * patch, in code order (row-major patches; the last grid padded with code 0), are decoded by the
 * package's `vq_decode` (the host runs it), and each patch's pixels are averaged.
 */

/** Mosaics [count, h, w] of int32 codes showing every code as a block×block patch. */
export function codebookMosaics(
  codebookSize: number,
  tokenGrid: readonly [number, number],
  block = 2,
): { ids: Int32Array; count: number } {
  const [h, w] = tokenGrid;
  const gh = Math.floor(h / block);
  const gw = Math.floor(w / block);
  const per = gh * gw;
  const count = Math.ceil(codebookSize / per);
  const ids = new Int32Array(count * h * w);
  for (let m = 0; m < count; m++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const code = m * per + Math.floor(y / block) * gw + Math.floor(x / block);
        ids[(m * h + y) * w + x] = code < codebookSize ? code : 0;
      }
  return { ids, count };
}

/** Decoded mosaics [n, 3, H, W] → the mean colour of each patch, in mosaic order ([n·patches][3]). */
export function patchMeans(
  pixels: Float32Array,
  n: number,
  height: number,
  width: number,
  tokenGrid: readonly [number, number],
  block = 2,
): number[][] {
  const gh = Math.floor(tokenGrid[0] / block);
  const gw = Math.floor(tokenGrid[1] / block);
  const ph = height / gh;
  const pw = width / gw;
  const out: number[][] = [];
  for (let m = 0; m < n; m++)
    for (let py = 0; py < gh; py++)
      for (let px = 0; px < gw; px++) {
        const rgb: number[] = [];
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let y = py * ph; y < (py + 1) * ph; y++)
            for (let x = px * pw; x < (px + 1) * pw; x++)
              sum += pixels[((m * 3 + c) * height + y) * width + x]!;
          rgb.push(sum / (ph * pw));
        }
        out.push(rgb);
      }
  return out;
}
