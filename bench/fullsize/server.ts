/**
 * A static server for the built app and model packages on 127.0.0.1, with the headers the app
 * needs (cross-origin isolation, for WASM threads) and a log of every request, so a reload can
 * be shown to download nothing. `/packages/<name>/…` serves the package folder given for name.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

export interface RequestLogEntry {
  path: string;
  status: number;
  bytes: number;
}

export interface StaticServer {
  url: string;
  log: RequestLogEntry[];
  close(): Promise<void>;
}

/** Content types of the files a built app and a package hold (shared by the bench servers). */
export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
};

/** The file a URL path names under `appDir` or a package folder, or null (outside them, or absent). */
export function resolveRequest(
  urlPath: string,
  appDir: string,
  packages: Record<string, string>,
): string | null {
  const path = decodeURIComponent(urlPath.split('?')[0]!);
  const m = /^\/packages\/([^/]+)\/(.*)$/.exec(path);
  const root = m ? packages[m[1]!] : appDir;
  if (!root) return null;
  const rel = normalize(m ? m[2]! : path === '/' ? 'index.html' : path.slice(1));
  if (rel.startsWith('..') || rel.startsWith(sep)) return null;
  const file = join(root, rel);
  return existsSync(file) && statSync(file).isFile() ? file : null;
}

export function serveStatic(
  appDir: string,
  packages: Record<string, string>,
  port: number,
): Promise<StaticServer> {
  const log: RequestLogEntry[] = [];
  const server = createServer((req, res) => {
    const file = resolveRequest(req.url ?? '/', appDir, packages);
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    if (!file) {
      res.statusCode = 404;
      res.end('not found');
      log.push({ path: req.url ?? '', status: 404, bytes: 0 });
      return;
    }
    const size = statSync(file).size;
    res.setHeader('Content-Type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(size));
    log.push({ path: req.url ?? '', status: 200, bytes: req.method === 'HEAD' ? 0 : size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${port}`,
        log,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    );
  });
}
