import { describe, expect, it } from 'vitest';
import { StallWatch } from './download';

describe('StallWatch', () => {
  it('aborts after the silence, not while kicked, and follows the outer signal', async () => {
    const watch = new StallWatch(60);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 30));
      watch.kick();
    }
    expect(watch.signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 120));
    expect(watch.signal.aborted).toBe(true);
    expect(watch.stalled).toBe(true);

    const outer = new AbortController();
    const followed = new StallWatch(10_000, outer.signal);
    outer.abort(new DOMException('cancelled', 'AbortError'));
    expect(followed.signal.aborted).toBe(true);
    expect(followed.stalled).toBe(false);
    followed.stop();
  });
});
