/**
 * A real HTTP server for model packages, started inside a test: it serves a package folder with
 * CORS (the app fetches it cross-origin) and can misbehave as hostile or broken hosts do —
 * stop sending half-way through a file, or send a body that never ends.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface Misbehaviour {
  /** Send this many bytes of the file at this path, then nothing more (the connection stays open). */
  stallAfter?: { path: string; bytes: number };
  /** Answer manifest.json with an endless stream of spaces, with no Content-Length. */
  endlessManifest?: boolean;
  /** Answer manifest.json with this text instead of the package's own. */
  manifest?: string;
}

export interface ModelServer {
  /** The package's base URL on this server. */
  url: string;
  /** What the server does wrong; change it between loads (e.g. clear `stallAfter` to recover). */
  misbehaviour: Misbehaviour;
  /** Path (and Range header, if any) of every request, in order. */
  requests: { path: string; range: string | null }[];
  close(): Promise<void>;
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Range',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Range',
  'Cross-Origin-Resource-Policy': 'cross-origin',
};

export async function startModelServer(dir: string, misbehaviour: Misbehaviour = {}): Promise<ModelServer> {
  const requests: ModelServer['requests'] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/pkg\//, '');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS).end();
      return;
    }
    requests.push({ path, range: req.headers.range ?? null });
    if (path === 'manifest.json' && misbehaviour.endlessManifest) {
      open.add(res);
      res.writeHead(200, { ...CORS, 'Content-Type': 'application/json' });
      const spaces = Buffer.alloc(1 << 20, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(spaces));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    let body: Buffer;
    try {
      body =
        path === 'manifest.json' && misbehaviour.manifest !== undefined
          ? Buffer.from(misbehaviour.manifest)
          : readFileSync(join(dir, path));
    } catch {
      res.writeHead(404, CORS).end('not found');
      return;
    }
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const headers = {
      ...CORS,
      'Content-Type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'Content-Length': String(body.length - from),
    };
    if (from > 0)
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${from}-${body.length - 1}/${body.length}` });
    else res.writeHead(200, headers);
    const stall = misbehaviour.stallAfter;
    if (stall && stall.path === path) {
      open.add(res);
      res.write(body.subarray(from, Math.max(from, stall.bytes))); // ...and then silence
      return;
    }
    res.end(body.subarray(from));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/pkg/`,
    misbehaviour,
    requests,
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
