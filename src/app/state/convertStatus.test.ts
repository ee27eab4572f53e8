/** The conversion's status line in words: bytes and tensors while converting, grids while the colours are computed. */
import { describe, expect, it } from 'vitest';
import type { ConvertProgress } from '../../protocol/messages';
import { convertStatusText } from './convertActions';

const base: ConvertProgress = {
  phase: 'converting',
  graph: 'q4/transformer_step',
  bytesWritten: 500_000,
  totalBytes: 1_000_000,
  tensorsDone: 10,
  tensorsTotal: 20,
  elapsedMs: 4000,
  colours: null,
};

describe('convertStatusText', () => {
  it('while converting: bytes, tensors, the phase and an ETA from the share written', () => {
    expect(convertStatusText(base)).toBe('500 KB of 1.0 MB; tensor 10 of 20; converting; about 4.0 s left');
  });

  it('while the colours are computed: grid i of n, with an ETA from the pace of the grids done', () => {
    const colours = { ...base, phase: 'colours' as const, bytesWritten: 1_000_000 };
    expect(
      convertStatusText({ ...colours, colours: { gridsDone: 0, gridsTotal: 32, elapsedMs: 2000 } }),
    ).toBe('Computing the preview colours: 0 of 32');
    // 5 grids in 85 s: 27 left at 17 s each
    expect(
      convertStatusText({ ...colours, colours: { gridsDone: 5, gridsTotal: 32, elapsedMs: 85_000 } }),
    ).toBe('Computing the preview colours: 5 of 32 (about 7 min 39 s left)');
    // the last grid done: no "about 0 ms left"
    expect(
      convertStatusText({ ...colours, colours: { gridsDone: 32, gridsTotal: 32, elapsedMs: 544_000 } }),
    ).toBe('Computing the preview colours: 32 of 32');
  });
});
