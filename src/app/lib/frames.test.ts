import { describe, expect, it } from 'vitest';
import { previewSize, toFrame } from './frames';

describe('frames', () => {
  it('sizes the palette preview from its byte length', () => {
    expect(previewSize(4 * 4 * 6, [4, 6])).toEqual([6, 4]);
    expect(previewSize(4 * 16 * 24, [4, 6])).toEqual([24, 16]);
    expect(previewSize(4 * 9, [2, 3])).toEqual([3, 3]); // a square preview
    expect(previewSize(4 * 7, [2, 3])).toEqual([0, 0]);
  });

  it('unpacks a wire step into typed arrays', () => {
    const f = toFrame({
      step: 1,
      steps: 4,
      grid: [1, 2],
      maskTokenId: 9,
      tokens: Int32Array.of(9, 3).buffer,
      drawn: Int32Array.of(0, 1).buffer,
      remasked: Int32Array.of(1, 0).buffer,
      attention: Float32Array.of(0.25, 0.75).buffer,
      hold: Uint8Array.of(0, 1).buffer,
      preview: new Uint8Array(8).buffer,
      elapsedMs: 12,
    });
    expect([...f.tokens]).toEqual([9, 3]);
    expect([...f.attention]).toEqual([0.25, 0.75]);
    expect(f.previewSize).toEqual([2, 1]);
    expect(f.elapsedMs).toBe(12);
  });
});
