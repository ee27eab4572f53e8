import { describe, expect, it } from 'vitest';
import { buildApiReport, readApiReport } from './apiReport';

describe('engine API report', () => {
  it('matches the checked-in report (run `npm run api:report` after an intended API change)', () => {
    expect(buildApiReport()).toBe(readApiReport());
  });
});
