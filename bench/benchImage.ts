/**
 * The benchmark's source picture, the same in Node, in the page and (by the same formula) in the
 * Python reference: gradient sky, green ground, a red disc and a blue square. Deterministic, so
 * every backend edits the same pixels. RGBA8, row-major.
 */
export function benchImage(size: number): { width: number; height: number; data: Uint8ClampedArray } {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const x = px / (size - 1);
      const y = py / (size - 1);
      let rgb = [0.35 + 0.3 * x, 0.55 + 0.25 * y, 0.95 - 0.3 * y];
      if (y > 0.65) rgb = [0.2, 0.55, 0.2];
      if ((x - 0.3) ** 2 + (y - 0.4) ** 2 < 0.15 ** 2) rgb = [0.9, 0.15, 0.1];
      if (Math.abs(x - 0.72) < 0.12 && Math.abs(y - 0.7) < 0.12) rgb = [0.1, 0.2, 0.85];
      const o = (py * size + px) * 4;
      data[o] = Math.round(rgb[0]! * 255);
      data[o + 1] = Math.round(rgb[1]! * 255);
      data[o + 2] = Math.round(rgb[2]! * 255);
      data[o + 3] = 255;
    }
  }
  return { width: size, height: size, data };
}
