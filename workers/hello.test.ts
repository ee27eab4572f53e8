import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../src/protocol/messages';
import { isDiagnosticsRequest } from '../src/protocol/messages';
import { answerHello } from './hello';

describe('the worker side of the handshake', () => {
  it('answers the same version with hello, another with version-mismatch naming both', () => {
    expect(answerHello({ type: 'hello', id: 3, version: PROTOCOL_VERSION })).toEqual({
      type: 'hello',
      id: 3,
      version: PROTOCOL_VERSION,
    });
    expect(answerHello({ type: 'hello', id: 4, version: 1 }, 2)).toEqual({
      type: 'error',
      id: 4,
      code: 'version-mismatch',
      message: 'the engine speaks protocol 2, this page 1',
    });
  });

  it('routes diagnostics apart from the product’s requests', () => {
    expect(isDiagnosticsRequest({ type: 'stats', id: 1, reset: false })).toBe(true);
    expect(isDiagnosticsRequest({ type: 'loseDevice', id: 1 })).toBe(true);
    expect(isDiagnosticsRequest({ type: 'edit', id: 1 } as never)).toBe(false);
    expect(isDiagnosticsRequest({ type: 'cancel', id: 1, target: 2 })).toBe(false);
    expect(isDiagnosticsRequest({ type: 'toString', id: 1 } as never)).toBe(false);
  });
});
