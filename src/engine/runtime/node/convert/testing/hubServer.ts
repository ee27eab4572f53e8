/**
 * A local HTTP server that behaves like the Hugging Face Hub for one model repository, serving a
 * folder on disk (for tests; nothing leaves the machine):
 * - `GET /api/models/{repo}/revision/{rev}`: `{ id, sha, siblings }` and an `X-Repo-Commit` header;
 *   `rev` is `main` or the commit, anything else is 404 `RevisionNotFound`;
 * - `GET /api/models/{repo}/tree/{rev}?recursive=true`: `{ type, path, size, oid, lfs? }` entries,
 *   `pageSize` per page with a `Link: <…>; rel="next"` header;
 * - `GET /{repo}/resolve/{rev}/{path}`: files below `lfsMinBytes` served here with `ETag` and
 *   ranges (206, `Content-Range`); larger ones redirected (302) to a second server, another
 *   origin standing in for the storage host, at another path with a signed query, with
 *   `X-Linked-Etag` / `X-Linked-Size` on the redirect;
 * - a gated repository (`gatedToken`): resolve answers 401 `GatedRepo` without a token, 401 to a
 *   token it does not know, 403 `GatedRepo` to a valid token without access (`knownTokens`), as
 *   the hub does; the API stays public;
 * - faults, each for the next `times` requests that match: 429 with a `Retry-After`, a 5xx, a
 *   connection dropped (or gone quiet) after some body bytes, a range request answered 200 with the whole file,
 *   another ETag, any header set to another value.
 * - CORS as the hub and its storage host answer a page on another origin: every answer allows any
 *   origin and exposes the headers a client reads (commit, error code, ETag, ranges, Link,
 *   Retry-After), and a preflight (`OPTIONS`) allows `Authorization`, `Range` and `Accept`.
 * Every request is recorded (method, host, path, headers), so tests can check what was sent where.
 * Only the range asked for is read from disk, so large files can be served.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export type HubFault =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: string }
  | { readonly kind: 'drop'; readonly afterBytes: number }
  | { readonly kind: 'stall'; readonly afterBytes: number; readonly ms: number }
  | { readonly kind: 'ignore-range' }
  | { readonly kind: 'etag'; readonly etag: string }
  | { readonly kind: 'header'; readonly name: string; readonly value: string }
  /** a 302 to `location` (a loop when it names the path asked for) */
  | { readonly kind: 'redirect'; readonly location: string }
  /** a 200 whose body is `bytes` bytes, sent in chunks with no Content-Length */
  | { readonly kind: 'body'; readonly bytes: number };

export interface RecordedRequest {
  readonly server: 'hub' | 'storage';
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly status: number;
}

export interface HubServerOptions {
  /** the folder served as the repository's files */
  readonly root: string;
  /** `owner/name` */
  readonly repo: string;
  /** 40 hex digits (default: sha1 of the repo id) */
  readonly commit?: string;
  /** files of at least this many bytes are redirected to the storage server (default 1024) */
  readonly lfsMinBytes?: number;
  /** tree entries per page (default 1000) */
  readonly pageSize?: number;
  /** a gated repository: resolve needs `Authorization: Bearer <gatedToken>` */
  readonly gatedToken?: string;
  /** valid tokens without access to the gated repository (403); any other token is invalid (401) */
  readonly knownTokens?: readonly string[];
}

export interface HubServer {
  /** the hub's origin, as HF_ENDPOINT */
  readonly endpoint: string;
  /** the storage host's origin */
  readonly storage: string;
  readonly commit: string;
  readonly requests: RecordedRequest[];
  /** the next `times` requests whose path matches `path` (a substring or RegExp) get `fault` */
  inject(path: string | RegExp, fault: HubFault, times?: number): void;
  close(): Promise<void>;
}

interface Entry {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly sha1: string;
}

/** bytes [start, end) of a file, read alone (files may be large) */
function readRange(file: string, start: number, end: number): Buffer {
  const out = Buffer.alloc(end - start);
  const fd = openSync(file, 'r');
  try {
    for (let at = 0; at < out.length;) {
      const n = readSync(fd, out, at, out.length - at, start + at);
      if (n === 0) break;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

function walk(root: string, rel = '', out: Entry[] = []): Entry[] {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const st = statSync(join(root, path));
    if (st.isDirectory()) walk(root, path, out);
    else if (st.isFile()) {
      const sha256 = createHash('sha256');
      const sha1 = createHash('sha1');
      for (let at = 0; at < st.size; at += 8 << 20) {
        const chunk = readRange(join(root, path), at, Math.min(st.size, at + (8 << 20)));
        sha256.update(chunk);
        sha1.update(chunk);
      }
      out.push({ path, size: st.size, sha256: sha256.digest('hex'), sha1: sha1.digest('hex') });
    }
  }
  return out;
}

/** a `header` fault: the answer's header `name` is `value`, whatever the route set */
function overrideHeader(res: ServerResponse, fault: HubFault | undefined): void {
  if (fault?.kind !== 'header') return;
  const writeHead = res.writeHead.bind(res) as (
    status: number,
    headers?: Record<string, string>,
  ) => ServerResponse;
  (res as unknown as { writeHead: typeof writeHead }).writeHead = (status, headers = {}) =>
    writeHead(status, { ...headers, [fault.name]: fault.value });
}

const EXPOSED = [
  'X-Repo-Commit',
  'X-Error-Code',
  'X-Error-Message',
  'X-Linked-Etag',
  'X-Linked-Size',
  'ETag',
  'Link',
  'Content-Range',
  'Content-Length',
  'Accept-Ranges',
  'Retry-After',
].join(', ');

/** CORS on every answer; true when the request was a preflight, answered here. */
function cors(req: IncomingMessage, res: ServerResponse): boolean {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED);
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(204, {
    'Access-Control-Allow-Methods': 'GET, HEAD',
    'Access-Control-Allow-Headers': 'Authorization, Range, Accept, Content-Type',
    'Access-Control-Max-Age': '0',
  });
  res.end();
  return true;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/** Serves `bytes` with ranges, ETag and faults. */
function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: { readonly path: string; readonly size: number },
  etag: string,
  fault: HubFault | undefined,
  headers: Record<string, string>,
): number {
  const range = req.headers.range;
  const m = range && fault?.kind !== 'ignore-range' ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
  const tag = fault?.kind === 'etag' ? fault.etag : etag;
  let status = 200;
  let [a, b] = [0, file.size - 1];
  const out: Record<string, string> = { ...headers, ETag: tag, 'Accept-Ranges': 'bytes' };
  if (m) {
    a = Number(m[1]);
    b = m[2] ? Math.min(Number(m[2]), file.size - 1) : file.size - 1;
    if (a >= file.size || b < a) {
      res.writeHead(416, { ...out, 'Content-Range': `bytes */${file.size}` });
      res.end();
      return 416;
    }
    status = 206;
    out['Content-Range'] = `bytes ${a}-${b}/${file.size}`;
  }
  const body = readRange(file.path, a, b + 1);
  out['Content-Length'] = String(body.length);
  res.writeHead(status, out);
  if (fault?.kind === 'drop') {
    // part of the body, then the connection goes away mid-answer
    res.write(body.subarray(0, Math.min(fault.afterBytes, body.length - 1)), () => res.socket?.destroy());
  } else if (fault?.kind === 'stall') {
    // part of the body, then silence for a while (the client should give up and resume)
    const cut = Math.min(fault.afterBytes, body.length - 1);
    res.write(body.subarray(0, cut));
    setTimeout(() => !res.destroyed && res.end(body.subarray(cut)), fault.ms).unref();
  } else res.end(body);
  return status;
}

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const { root, repo, lfsMinBytes = 1024, pageSize = 1000, gatedToken } = options;
  const commit = options.commit ?? createHash('sha1').update(repo).digest('hex');
  const entries = walk(root);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const bySha = new Map(entries.map((e) => [e.sha256, e]));
  const requests: RecordedRequest[] = [];
  const faults: { path: string | RegExp; fault: HubFault; left: number }[] = [];

  const takeFault = (path: string): HubFault | undefined => {
    const f = faults.find(
      (x) => x.left > 0 && (typeof x.path === 'string' ? path.includes(x.path) : x.path.test(path)),
    );
    if (!f) return undefined;
    f.left--;
    return f.fault;
  };
  const record = (server: RecordedRequest['server'], req: IncomingMessage, status: number) =>
    requests.push({
      server,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: { ...req.headers },
      status,
    });
  const json = (
    res: ServerResponse,
    status: number,
    value: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(value));
    return status;
  };
  const error = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, {
      'X-Error-Code': code,
      'X-Error-Message': message,
      'Content-Type': 'application/json',
    });
    res.end(JSON.stringify({ error: message }));
    return status;
  };
  const statusFault = (res: ServerResponse, fault: HubFault | undefined): number | undefined => {
    if (fault?.kind === 'redirect') {
      res.writeHead(302, { Location: fault.location });
      res.end();
      return 302;
    }
    if (fault?.kind === 'body') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(Math.min(fault.bytes, 1 << 20), 0x20);
      let left = fault.bytes;
      const more = () => {
        while (left > 0 && !res.destroyed) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(chunk.subarray(0, n))) return void res.once('drain', more);
        }
        res.end();
      };
      more();
      return 200;
    }
    if (fault?.kind !== 'status') return undefined;
    res.writeHead(fault.status, fault.retryAfter !== undefined ? { 'Retry-After': fault.retryAfter } : {});
    res.end(`fault ${fault.status}`);
    return fault.status;
  };
  const revisionOk = (rev: string) => rev === 'main' || rev === commit;

  /** A server of the pair: CORS, the faults injected for a path, and every request recorded. */
  type Answer = (req: IncomingMessage, res: ServerResponse, url: URL, fault: HubFault | undefined) => number;
  const serve = (who: RecordedRequest['server'], answer: Answer) =>
    createServer((req, res) => {
      if (cors(req, res)) {
        record(who, req, 204);
        return;
      }
      const url = new URL(req.url ?? '/', `http://${who}`);
      const fault = takeFault(decodeURIComponent(url.pathname));
      overrideHeader(res, fault);
      record(who, req, statusFault(res, fault) ?? answer(req, res, url, fault));
    });

  let storageOrigin = '';
  const hub = serve('hub', (req, res, url, fault) => {
    const path = decodeURIComponent(url.pathname);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)$/.exec(path);
    if (api) {
      if (api[1] !== repo) return error(res, 404, 'RepoNotFound', 'Repository not found');
      if (!revisionOk(api[3]!)) return error(res, 404, 'RevisionNotFound', 'Invalid rev id');
      if (api[2] === 'revision')
        return json(
          res,
          200,
          { id: repo, sha: commit, siblings: entries.map((e) => ({ rfilename: e.path })) },
          { 'X-Repo-Commit': commit },
        );
      const from = Number(url.searchParams.get('cursor') ?? 0);
      const page = entries.slice(from, from + pageSize).map((e) => ({
        type: 'file',
        oid: e.sha1,
        size: e.size,
        path: e.path,
        ...(e.size >= lfsMinBytes ? { lfs: { oid: e.sha256, size: e.size, pointerSize: 134 } } : {}),
      }));
      const headers: Record<string, string> = {};
      if (from + pageSize < entries.length)
        headers['Link'] = `<${url.pathname}?recursive=true&cursor=${from + pageSize}>; rel="next"`;
      return json(res, 200, page, headers);
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve) {
      if (resolve[1] !== repo) return error(res, 404, 'RepoNotFound', 'Repository not found');
      if (!revisionOk(resolve[2]!)) return error(res, 404, 'RevisionNotFound', 'Invalid rev id');
      if (gatedToken !== undefined) {
        const auth = req.headers.authorization;
        if (!auth)
          return error(
            res,
            401,
            'GatedRepo',
            'Access to this model is restricted. You must be authenticated.',
          );
        const bearer = auth.replace(/^Bearer /, '');
        if (bearer !== gatedToken && !(options.knownTokens ?? []).includes(bearer))
          return error(res, 401, 'Unauthorized', 'Invalid credentials in Authorization header');
        if (bearer !== gatedToken)
          return error(
            res,
            403,
            'GatedRepo',
            'Access to this model is restricted and you are not in the authorized list.',
          );
      }
      const e = byPath.get(resolve[3]!);
      if (!e) return error(res, 404, 'EntryNotFound', 'Entry not found');
      const common = { 'X-Repo-Commit': commit };
      if (e.size >= lfsMinBytes) {
        res.writeHead(302, {
          ...common,
          Location: `${storageOrigin}/repos/${e.sha256.slice(0, 2)}/${e.sha256}?X-Amz-Signature=${e.sha1}`,
          'X-Linked-Etag': `"${e.sha256}"`,
          'X-Linked-Size': String(e.size),
        });
        res.end();
        return 302;
      }
      return sendFile(req, res, { path: join(root, e.path), size: e.size }, `"${e.sha1}"`, fault, common);
    }
    return error(res, 404, 'NotFound', 'no such route');
  });

  const storage = serve('storage', (req, res, url, fault) => {
    const m = /^\/repos\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(url.pathname);
    const e = m ? bySha.get(m[1]!) : undefined;
    if (!e || url.searchParams.get('X-Amz-Signature') !== e.sha1) {
      res.writeHead(403);
      res.end('bad signature');
      return 403;
    }
    return sendFile(req, res, { path: join(root, e.path), size: e.size }, `"${e.sha256}"`, fault, {});
  });

  const endpoint = await listen(hub);
  storageOrigin = await listen(storage);
  const close = (s: Server) =>
    new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    });
  return {
    endpoint,
    storage: storageOrigin,
    commit,
    requests,
    inject(path, fault, times = 1) {
      faults.push({ path, fault, left: times });
    },
    async close() {
      await Promise.all([close(hub), close(storage)]);
    },
  };
}
