/**
 * Undo/redo history as plain data: every function returns a new history and never mutates its
 * input. The entry at `cursor` is what the editor shows; pushing after an undo drops the redo
 * branch. Eviction removes the oldest entries first and never the current one.
 */
export interface History<E> {
  readonly entries: readonly E[];
  /** Index of the current entry; -1 when empty. */
  readonly cursor: number;
}

export interface HistoryLimits<E> {
  maxEntries: number;
  maxBytes: number;
  /** Bytes an entry holds that no other entry shares, given the entries kept. */
  bytesOf: (entries: readonly E[]) => number;
}

export const emptyHistory = <E>(): History<E> => ({ entries: [], cursor: -1 });

export function current<E>(h: History<E>): E | undefined {
  return h.cursor >= 0 ? h.entries[h.cursor] : undefined;
}

export const canUndo = <E>(h: History<E>) => h.cursor > 0;
export const canRedo = <E>(h: History<E>) => h.cursor >= 0 && h.cursor < h.entries.length - 1;

export function undo<E>(h: History<E>): History<E> {
  return canUndo(h) ? { entries: h.entries, cursor: h.cursor - 1 } : h;
}

export function redo<E>(h: History<E>): History<E> {
  return canRedo(h) ? { entries: h.entries, cursor: h.cursor + 1 } : h;
}

export function jumpTo<E>(h: History<E>, index: number): History<E> {
  return index >= 0 && index < h.entries.length ? { entries: h.entries, cursor: index } : h;
}

/** Drops the oldest entries (never the current one) until both limits hold. */
export function evict<E>(h: History<E>, limits: HistoryLimits<E>): History<E> {
  const entries = [...h.entries];
  let cursor = h.cursor;
  const over = () => entries.length > limits.maxEntries || limits.bytesOf(entries) > limits.maxBytes;
  while (entries.length > 1 && over()) {
    const victim = cursor === 0 ? 1 : 0;
    entries.splice(victim, 1);
    if (victim < cursor) cursor -= 1;
  }
  return { entries, cursor };
}

/** Adds an entry after the current one (dropping any redo branch) and makes it current. */
export function push<E>(h: History<E>, entry: E, limits: HistoryLimits<E>): History<E> {
  const entries = [...h.entries.slice(0, h.cursor + 1), entry];
  return evict({ entries, cursor: entries.length - 1 }, limits);
}

/**
 * How many entries eviction removed between `before` and `after` (a push or an evict). Entries
 * after `before`'s cursor (the redo branch a push replaces on purpose) are not counted.
 */
export function evictedCount<E extends { id: string }>(before: History<E>, after: History<E>): number {
  const kept = new Set(after.entries.map((e) => e.id));
  return before.entries.slice(0, before.cursor + 1).filter((e) => !kept.has(e.id)).length;
}
