/**
 * Float32 arithmetic helpers. The reference runs its scheduler in float32 torch ops; doing the
 * same rounding here keeps mask lengths (a floor of a float32 product) and confidence ties
 * identical to the reference instead of merely close.
 */

export const f32 = Math.fround;

/** Largest finite float32 (torch.finfo(torch.float32).max). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** float32(1e-20), the clamp used by the reference's log and Gumbel. */
export const EPS_1E20 = Math.fround(1e-20);

/** float32(π), what torch uses when a float32 tensor is multiplied by math.pi. */
export const PI_F32 = Math.fround(Math.PI);

/** float32 natural log (correctly rounded; torch's logf is within 1 ulp of this). */
export function logF32(x: number): number {
  return f32(Math.log(x));
}

/**
 * float32 fused multiply-add a·b + c with one rounding (what compilers emit for torch's CPU
 * kernels). a·b of two float32 values is exact in float64, so only the final add rounds twice,
 * which is exact except in rare halfway cases.
 */
export function fmaF32(a: number, b: number, c: number): number {
  return f32(a * b + c);
}
