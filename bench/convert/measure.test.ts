/** measure() on real child processes: exit code, bytes read by a grandchild, the tree's RSS. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measure, parseProcIo, parseTimeLine } from './measure';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'editmgt-measure-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('measure', () => {
  it('parses GNU time and /proc io', () => {
    expect(parseTimeLine('Command exited with non-zero status 2\n1.50 0.25 2048\n')).toEqual({
      cpuS: 1.75,
      maxRssBytes: 2048 * 1024,
    });
    expect(() => parseTimeLine('garbage')).toThrow(/not "user system maxrss"/);
    expect(
      parseProcIo('rchar: 10\nwchar: 3\nsyscr: 1\nsyscw: 1\nread_bytes: 4096\nwrite_bytes: 0\n'),
    ).toEqual({
      rchar: 10,
      readBytes: 4096,
    });
  });

  it("counts a grandchild's reads and its memory, and passes the exit code on", async () => {
    const file = join(dir, 'data');
    writeFileSync(file, Buffer.alloc(8_000_000, 1));
    // sh → python3: the bytes are read, and the memory held, one level below the command
    const script = `python3 -c "d = open('${file}', 'rb').read(); b = bytearray(200_000_000); import time; time.sleep(0.6)"; exit 3`;
    const m = await measure(['sh', '-c', script], { sampleMs: 50 });
    expect(m.exitCode).toBe(3);
    expect(m.rcharBytes).toBeGreaterThanOrEqual(8_000_000);
    expect(m.maxProcessRssBytes).toBeGreaterThanOrEqual(200_000_000);
    expect(m.peakTreeRssBytes).toBeGreaterThanOrEqual(200_000_000);
    expect(m.wallS).toBeGreaterThanOrEqual(0.6);
    expect(m.cpuS).toBeGreaterThan(0);
  });
});
