import { describe, expect, it } from 'vitest';
import { EngineError } from '../../protocol/engineClient';
import type { ErrorCode } from '../../protocol/messages';
import { describeEngineError, toAppError } from './errors';

const CODES: ErrorCode[] = [
  'bad-request',
  'version-mismatch',
  'backend-unavailable',
  'model-unavailable',
  'model-invalid',
  'bad-image',
  'graph-failed',
  'device-lost',
  'stalled',
  'cancelled',
  'internal',
];

describe('error messages', () => {
  it('says what happened and what to do for every engine code', () => {
    for (const code of CODES) {
      const m = describeEngineError(code, 'detail.');
      expect(m.length, code).toBeGreaterThan(20);
      if (code !== 'cancelled') expect(m, code).toMatch(/\(detail\)/);
    }
  });

  it('names the model address when a download fails', () => {
    expect(describeEngineError('model-unavailable', 'HTTP 404', { modelUrl: '/models/x/' })).toMatch(
      /from \/models\/x\/ \(HTTP 404\)\. Check the address/,
    );
  });

  it('keeps the engine code and wraps anything else', () => {
    expect(toAppError('edit', new EngineError('graph-failed', 'boom'))).toMatchObject({
      source: 'edit',
      code: 'graph-failed',
    });
    const e = toAppError('app', 'weird');
    expect(e.code).toBeUndefined();
    expect(e.message).toMatch(/\(weird\)\. Try again/);
  });
});
