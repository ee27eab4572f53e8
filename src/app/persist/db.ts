/**
 * History and settings kept in IndexedDB across reloads. Entries are immutable and written one by
 * one; a save deletes only the entries this page itself dropped since its last save (an undone
 * branch, an evicted entry), never ones it does not know: several tabs share one database, and
 * each keeps the others' edits. An image goes once no stored entry refers to it. When IndexedDB is
 * missing (private mode, blocked storage) everything still works, just without memory across reloads.
 */
import type { History } from '../lib/history';
import type { HistoryEntry, ImageRef } from '../lib/types';

const DB_NAME = 'editmgt';
const VERSION = 1;

interface StoredEntry extends Omit<HistoryEntry, 'input' | 'result'> {
  inputId: string;
  resultId: string | null;
}

export interface Snapshot {
  settings: unknown;
  history: History<HistoryEntry>;
}

function promised<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export class AppDb {
  private db: Promise<IDBDatabase | null>;
  private queue: Promise<unknown> = Promise.resolve();
  /** Ids of the entries this page has shown and saved: the only ones its saves may delete. */
  private known = new Set<string>();

  constructor() {
    this.db = new Promise((resolve) => {
      if (typeof indexedDB === 'undefined') return resolve(null);
      const req = indexedDB.open(DB_NAME, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        for (const name of ['entries', 'images'])
          if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath: 'id' });
        if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(null);
      req.onblocked = () => resolve(null);
    });
  }

  /** Writes run one after another; `flush` waits for all queued ones. */
  private enqueue(job: (db: IDBDatabase) => Promise<void>): Promise<void> {
    const next = this.queue.then(async () => {
      const db = await this.db;
      if (db) await job(db);
    });
    this.queue = next.catch((e: unknown) => console.warn('could not save to IndexedDB:', e));
    return next;
  }

  flush(): Promise<void> {
    return this.queue.then(() => undefined);
  }

  async load(): Promise<Snapshot> {
    const empty: Snapshot = { settings: null, history: { entries: [], cursor: -1 } };
    const db = await this.db;
    if (!db) return empty;
    try {
      const tx = db.transaction(['entries', 'images', 'meta'], 'readonly');
      const [stored, images, settings, cursorId] = await Promise.all([
        promised(tx.objectStore('entries').getAll()) as Promise<StoredEntry[]>,
        promised(tx.objectStore('images').getAll()) as Promise<ImageRef[]>,
        promised(tx.objectStore('meta').get('settings')),
        promised(tx.objectStore('meta').get('cursorId')) as Promise<unknown>,
      ]);
      const byId = new Map(images.map((i) => [i.id, i]));
      const entries: HistoryEntry[] = [];
      for (const s of stored.sort((a, b) => a.createdAt - b.createdAt)) {
        const input = byId.get(s.inputId);
        if (!input) continue;
        const { inputId: _i, resultId, ...rest } = s;
        entries.push({ ...rest, input, result: resultId ? (byId.get(resultId) ?? null) : null });
      }
      this.known = new Set(entries.map((e) => e.id));
      // The entry shown last, by id (tabs interleave, so a position would point elsewhere).
      const at = entries.findIndex((e) => e.id === cursorId);
      return { settings, history: { entries, cursor: at >= 0 ? at : entries.length - 1 } };
    } catch (e) {
      console.warn('could not read saved history:', e);
      return empty;
    }
  }

  saveSettings(settings: unknown): Promise<void> {
    return this.enqueue(async (db) => {
      const tx = db.transaction('meta', 'readwrite');
      tx.objectStore('meta').put(settings, 'settings');
      await done(tx);
    });
  }

  saveHistory(history: History<HistoryEntry>): Promise<void> {
    const shown = new Set(history.entries.map((e) => e.id));
    const dropped = [...this.known].filter((id) => !shown.has(id));
    this.known = shown;
    const cursorId = history.entries[history.cursor]?.id ?? null;
    return this.enqueue(async (db) => {
      const tx = db.transaction(['entries', 'images', 'meta'], 'readwrite');
      const entries = tx.objectStore('entries');
      const images = tx.objectStore('images');
      const haveImages = new Set((await promised(images.getAllKeys())) as string[]);
      // Every shown entry is (re)written: another tab may have dropped one this page still shows.
      for (const e of history.entries) {
        for (const img of [e.input, e.result]) if (img && !haveImages.has(img.id)) images.put(img);
        const { input, result, ...rest } = e;
        entries.put({ ...rest, inputId: input.id, resultId: result?.id ?? null } satisfies StoredEntry);
      }
      for (const id of dropped) entries.delete(id);
      // Images no stored entry refers to any more (whoever stored it) are freed.
      const stored = (await promised(entries.getAll())) as StoredEntry[];
      const used = new Set(stored.flatMap((e) => (e.resultId ? [e.inputId, e.resultId] : [e.inputId])));
      for (const id of (await promised(images.getAllKeys())) as string[])
        if (!used.has(id)) images.delete(id);
      tx.objectStore('meta').put(cursorId, 'cursorId');
      await done(tx);
    });
  }
}
