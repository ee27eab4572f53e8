import { describe, expect, it } from 'vitest';
import { etaMs, formatBytes, formatDuration, stepCounterText } from './progress';

describe('progress', () => {
  it('writes the step counter as k/N', () => {
    expect(stepCounterText(0, 8)).toBe('0/8');
    expect(stepCounterText(8, 8)).toBe('8/8');
  });

  it('estimates the time left from the mean step time', () => {
    expect(etaMs(2, 8, 1000)).toBe(3000);
    expect(etaMs(8, 8, 4000)).toBe(0);
    expect(etaMs(0, 8, 0)).toBeNull();
    expect(etaMs(9, 8, 100)).toBeNull();
  });

  it('formats durations', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
    expect(formatDuration(420.4)).toBe('420 ms');
    expect(formatDuration(2500)).toBe('2.5 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });

  it('formats byte counts', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(-5)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.5 KB');
    expect(formatBytes(123_000_000)).toBe('123 MB');
    expect(formatBytes(2.5e12)).toBe('2500 GB');
  });
});
