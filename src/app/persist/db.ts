/**
 * History and settings kept in IndexedDB across reloads. Entries are immutable, so saving is a
 * diff by id: new entries and images are written, dropped ones deleted. When IndexedDB is missing
 * (private mode, blocked storage) everything still works, just without memory across reloads.
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

export class EditorDb {
  private db: Promise<IDBDatabase | null>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor() {
    this.db = new Promise((resolve) => {
      if (typeof indexedDB === 'undefined') return resolve(null);
      const req = indexedDB.open(DB_NAME, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        for (const name of ['entries', 'images']) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath: 'id' });
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
      const [stored, images, settings, cursor] = await Promise.all([
        promised(tx.objectStore('entries').getAll()) as Promise<StoredEntry[]>,
        promised(tx.objectStore('images').getAll()) as Promise<ImageRef[]>,
        promised(tx.objectStore('meta').get('settings')),
        promised(tx.objectStore('meta').get('cursor')) as Promise<number | undefined>,
      ]);
      const byId = new Map(images.map((i) => [i.id, i]));
      const entries: HistoryEntry[] = [];
      for (const s of stored.sort((a, b) => a.createdAt - b.createdAt)) {
        const input = byId.get(s.inputId);
        if (!input) continue;
        const { inputId: _i, resultId, ...rest } = s;
        entries.push({ ...rest, input, result: resultId ? (byId.get(resultId) ?? null) : null });
      }
      const c = typeof cursor === 'number' ? Math.min(Math.max(cursor, 0), entries.length - 1) : entries.length - 1;
      return { settings, history: { entries, cursor: c } };
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
    return this.enqueue(async (db) => {
      const tx = db.transaction(['entries', 'images', 'meta'], 'readwrite');
      const entries = tx.objectStore('entries');
      const images = tx.objectStore('images');
      const [entryKeys, imageKeys] = await Promise.all([promised(entries.getAllKeys()), promised(images.getAllKeys())]);
      const haveEntries = new Set(entryKeys as string[]);
      const haveImages = new Set(imageKeys as string[]);
      const keepEntries = new Set<string>();
      const keepImages = new Set<string>();
      for (const e of history.entries) {
        keepEntries.add(e.id);
        for (const img of [e.input, e.result]) {
          if (!img) continue;
          keepImages.add(img.id);
          if (!haveImages.has(img.id)) images.put(img);
        }
        if (!haveEntries.has(e.id)) {
          const { input, result, ...rest } = e;
          entries.put({ ...rest, inputId: input.id, resultId: result?.id ?? null } satisfies StoredEntry);
        }
      }
      for (const k of haveEntries) if (!keepEntries.has(k)) entries.delete(k);
      for (const k of haveImages) if (!keepImages.has(k)) images.delete(k);
      tx.objectStore('meta').put(history.cursor, 'cursor');
      await done(tx);
    });
  }
}
