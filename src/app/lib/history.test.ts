import { describe, expect, it } from 'vitest';
import * as H from './history';

interface E {
  id: string;
  bytes: number;
}
const limits = (maxEntries: number, maxBytes = Infinity): H.HistoryLimits<E> => ({
  maxEntries,
  maxBytes,
  bytesOf: (entries) => entries.reduce((s, e) => s + e.bytes, 0),
});
const e = (id: string, bytes = 1): E => ({ id, bytes });
const ids = (h: H.History<E>) => h.entries.map((x) => x.id).join('');
const build = (...names: string[]) =>
  names.reduce((h, n) => H.push(h, e(n), limits(99)), H.emptyHistory<E>());

describe('history', () => {
  it('starts empty with nothing to undo or redo', () => {
    const h = H.emptyHistory<E>();
    expect(H.current(h)).toBeUndefined();
    expect(H.canUndo(h)).toBe(false);
    expect(H.canRedo(h)).toBe(false);
    expect(H.undo(h)).toBe(h);
  });

  it('undo and redo move the cursor without changing entries', () => {
    const h = build('a', 'b', 'c');
    const u = H.undo(H.undo(h));
    expect(H.current(u)?.id).toBe('a');
    expect(H.canUndo(u)).toBe(false);
    expect(H.current(H.redo(u))?.id).toBe('b');
    expect(u.entries).toBe(H.redo(u).entries);
    expect(H.redo(h)).toBe(h);
  });

  it('pushing after an undo drops the redo branch', () => {
    const h = H.push(H.undo(build('a', 'b', 'c')), e('d'), limits(99));
    expect(ids(h)).toBe('abd');
    expect(h.cursor).toBe(2);
    expect(H.canRedo(h)).toBe(false);
  });

  it('never mutates its input', () => {
    const h = build('a', 'b');
    const frozen = Object.freeze({ entries: Object.freeze([...h.entries]), cursor: h.cursor });
    expect(() => H.push(frozen, e('c'), limits(1))).not.toThrow();
    expect(ids(frozen)).toBe('ab');
  });

  it('jumpTo ignores indices out of range', () => {
    const h = build('a', 'b', 'c');
    expect(H.jumpTo(h, 0).cursor).toBe(0);
    expect(H.jumpTo(h, 3)).toBe(h);
    expect(H.jumpTo(h, -1)).toBe(h);
  });

  it('evicts the oldest entries beyond the count limit', () => {
    let h = H.emptyHistory<E>();
    for (const n of 'abcdef') h = H.push(h, e(n), limits(3));
    expect(ids(h)).toBe('def');
    expect(H.current(h)?.id).toBe('f');
  });

  it('evicts by bytes, oldest first', () => {
    let h = H.emptyHistory<E>();
    for (const n of 'abcd') h = H.push(h, e(n, 40), limits(99, 100));
    expect(ids(h)).toBe('cd');
  });

  it('never evicts the current entry, even when it is the oldest', () => {
    const h = H.evict({ entries: [e('a', 90), e('b', 50), e('c', 50)], cursor: 0 }, limits(99, 100));
    expect(ids(h)).toBe('a');
    expect(H.current(h)?.id).toBe('a');
    // A single entry over the limit stays.
    expect(ids(H.evict({ entries: [e('x', 500)], cursor: 0 }, limits(99, 100)))).toBe('x');
  });

  it('keeps the cursor on the same entry when older ones go', () => {
    const h = H.evict({ entries: [e('a'), e('b'), e('c'), e('d')], cursor: 2 }, limits(2));
    expect(ids(h)).toBe('cd');
    expect(H.current(h)?.id).toBe('c');
  });

  it('counts the entries eviction dropped, not the redo branch a push replaces', () => {
    const full = build('a', 'b', 'c');
    expect(H.evictedCount(full, H.push(full, e('d'), limits(3)))).toBe(1);
    expect(H.evictedCount(full, H.push(full, e('d'), limits(4)))).toBe(0);
    const undone = H.undo(H.undo(full)); // at a; b and c are the redo branch
    expect(H.evictedCount(undone, H.push(undone, e('d'), limits(3)))).toBe(0);
    expect(H.evictedCount(full, H.push(full, e('d', 5), limits(9, 6)))).toBe(2);
  });
});
