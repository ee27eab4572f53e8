import { describe, expect, it } from 'vitest';
import { FetchError, readTextCapped, StallWatch } from './download';

/** A response whose body sends `chunks` pieces of `size` bytes each, or never ends when `chunks` is Infinity. */
function streamed(
  size: number,
  chunks: number,
  headers: HeadersInit = {},
): { response: Response; sent: () => number } {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= chunks) return controller.close();
      sent++;
      controller.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
  return { response: new Response(body, { headers }), sent: () => sent };
}

describe('readTextCapped', () => {
  it('reads a body under the cap', async () => {
    const { response } = streamed(10, 3);
    expect(await readTextCapped(response, 100, 'm.json')).toBe(' '.repeat(30));
  });

  it('refuses an endless body once it passes the cap, without reading on', async () => {
    const { response, sent } = streamed(1 << 16, Infinity);
    await expect(readTextCapped(response, 1 << 20, 'm.json')).rejects.toThrow(
      /m\.json is too large: at least \d+ bytes, where such a file may be at most 1 MiB/,
    );
    expect(sent()).toBeLessThanOrEqual(18);
  });

  it('refuses a declared length over the cap before reading', async () => {
    const { response, sent } = streamed(10, 3, { 'content-length': String(4e9) });
    await expect(readTextCapped(response, 1 << 20, 'm.json')).rejects.toBeInstanceOf(FetchError);
    expect(sent()).toBeLessThanOrEqual(1);
  });
});

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
