import { describe, expect, it } from 'vitest';
import { deltas, median, overheadPct, quantile, readbackAt } from './stats';

describe('bench stats', () => {
  it('median, nearest-rank p90 and deltas', () => {
    expect(median([3, 1, 2, 4])).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
    expect(deltas([1, 4, 9])).toEqual([3, 5]);
  });

  it('overhead is the median time outside the graph over the median step; one stall does not count', () => {
    expect(overheadPct([10, 10, 10], [9, 9, 9])).toBeCloseTo(10);
    expect(overheadPct([10, 10, 40], [9, 9, 9])).toBeCloseTo(10);
    expect(overheadPct([], [])).toBeNaN();
  });

  it('readback at 1024 px is 3 values per token and one per attention cell', () => {
    expect(readbackAt({ h: 64, w: 64 }, { h: 32, w: 32 })).toBe(53_248);
  });
});
