/**
 * The app shell's service worker (production builds only): it keeps the built page, its scripts,
 * styles, engine worker and WebAssembly in a cache, so a deployed copy reopens with the network
 * gone (model packages are kept in OPFS by the engine, not here). Pages load network-first, so a
 * new deploy is picked up while online; hashed assets load cache-first. Model downloads and
 * requests to other sites are not touched.
 *
 * `shell-files.json` (written by the build, see vite.config.ts) lists the files to keep and a
 * version that names the cache; a new list means a new cache and the old one is dropped.
 */
const sw = self as unknown as ServiceWorkerGlobalScope;

interface ShellFiles {
  version: string;
  /** Paths relative to this worker's folder, e.g. "assets/main-1a2b3c.js". */
  files: string[];
}

const PREFIX = 'editmgt-shell-';
const scope = new URL('./', sw.location.href);
const indexUrl = scope.href;
let currentCache: string | null = null;

async function shellCache(): Promise<Cache> {
  if (!currentCache) {
    const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX));
    currentCache = names.at(-1) ?? `${PREFIX}unversioned`;
  }
  return caches.open(currentCache);
}

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const list = (await (
        await fetch(new URL('shell-files.json', scope), { cache: 'no-cache' })
      ).json()) as ShellFiles;
      const name = `${PREFIX}${list.version}`;
      const cache = await caches.open(name);
      await cache.addAll([indexUrl, ...list.files.map((f) => new URL(f, scope).href)]);
      currentCache = name;
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const keep = currentCache;
      for (const name of await caches.keys())
        if (name.startsWith(PREFIX) && name !== keep) await caches.delete(name);
      await sw.clients.claim();
    })(),
  );
});

/** The page: fresh from the network when it answers (and kept), else the kept copy. */
async function page(request: Request): Promise<Response> {
  try {
    const response = await fetch(request);
    if (response.ok) await (await shellCache()).put(indexUrl, response.clone());
    return response;
  } catch (err) {
    const kept = await caches.match(indexUrl);
    if (kept) return kept;
    throw err;
  }
}

/** A hashed asset never changes: the kept copy, else the network (and keep it for next time). */
async function asset(request: Request): Promise<Response> {
  // Vary (servers add "Vary: Origin" for CORS) would hide a module script kept without an Origin.
  const kept = await caches.match(request, { ignoreVary: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await (await shellCache()).put(request, response.clone());
  return response;
}

sw.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const path = url.pathname.slice(scope.pathname.length);
  if (request.mode === 'navigate' && (path === '' || path === 'index.html')) event.respondWith(page(request));
  else if (path.startsWith('assets/') && !path.endsWith('.map')) event.respondWith(asset(request));
});
