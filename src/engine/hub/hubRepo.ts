/**
 * A hub repository read over HTTP, the one client every host uses: the revision pinned to a
 * commit, the files listed with their sizes, what the repository holds (a converted package or a
 * checkpoint), and each file read by byte range as a `CheckpointSource`. The routes, messages and
 * retry rules are `hubRules.ts`'s. A host hands in its `fetch` and how redirects are followed:
 * - `redirect: 'follow'` (a browser's page or worker, which cannot see a redirect's `Location`):
 *   the fetch follows the hub's redirects itself; the Fetch standard has it drop `Authorization`
 *   when a redirect leads to another origin, so the storage host a large file is sent to never
 *   gets the token;
 * - `redirect: 'manual'` (node): the fetch hands back each 3xx answer and it is followed here, up
 *   to 10 hops, the token sent on each hop only if it goes to the hub's own origin; the hub's own
 *   first answer is the one whose `X-Repo-Commit` and `X-Linked-Etag` are checked.
 *
 * The token: sent as `Authorization: Bearer` only in requests to the hub's own origin, never put
 * in a URL, and every message passes through `redact` (tested against a local hub and storage
 * host, node's way and the browser's).
 *
 * Retries: 429 and 5xx answers, and connections that fail or go quiet, are tried again with the
 * rules' backoff (a `Retry-After` sets the wait instead); a range read that breaks off is resumed
 * from the byte reached. A server that ignores Range (200, the whole file) is read from byte 0,
 * skipping up to `maxSkipBytes` before the range; beyond that the read is refused.
 */
import { checkRange, decodeUtf8 } from '../convert/byteSource';
import type { ByteSource, CheckpointSource } from '../convert/byteSource';
import {
  DEFAULT_HUB_ENDPOINT,
  HUB_RETRY_DEFAULTS,
  HubError,
  MAX_API_BYTES,
  MAX_SKIP_BYTES,
  hubRefusalMessage,
  hubRoutes,
  hubSpecText,
  isRetryStatus,
  nextLinkTarget,
  parseHubSpec,
  readTreePage,
  retryAfterMs,
  retryTooLongMessage,
  retryWaitMs,
  revisionCommit,
} from './hubRules';
import type { HubRetryRules, HubRoutes, HubSpec, TokenPlace } from './hubRules';

/** The part of a fetch `Response` read here. */
export interface HubResponse {
  readonly status: number;
  readonly ok: boolean;
  /** the address that answered, after redirects */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly body: {
    getReader(): {
      read(): Promise<{ done: boolean; value?: Uint8Array }>;
      cancel(reason?: unknown): Promise<void>;
      releaseLock(): void;
    };
    cancel(reason?: unknown): Promise<void>;
  } | null;
}

/** The `fetch` a page or a worker hands in: it follows redirects itself. */
export type HubFetch = (
  url: string,
  init: {
    headers: Record<string, string>;
    signal: AbortSignal;
    credentials: 'omit';
    redirect: 'follow';
    cache: 'no-store';
  },
) => Promise<HubResponse>;

/** The `fetch` of any host: with `redirect: 'manual'` it hands back 3xx answers as they are. */
export type HubHostFetch = (
  url: string,
  init: Omit<Parameters<HubFetch>[1], 'redirect'> & { redirect: 'follow' | 'manual' },
) => Promise<HubResponse>;

/** Where a browser's person puts a token: the token field next to the message. */
export const FIELD_TOKEN: TokenPlace = {
  name: 'the token field',
  give: 'paste it into the token field',
  replace: 'paste it into the token field',
  given: 'A token was given',
  other: 'give a token that has access',
  forPrivate: 'give a token that has access to it',
};

export interface HubRepoOptions extends Partial<HubRetryRules> {
  readonly fetch: HubFetch;
  /** the hub (default https://huggingface.co) */
  readonly endpoint?: string;
  /** an access token for gated or private repositories; sent to the endpoint's origin only */
  readonly token?: string;
  /** how messages tell the person to give a token (default: the token field) */
  readonly tokenPlace?: TokenPlace;
  /** no byte for this long ends an attempt (default 30 s), which is then retried or resumed */
  readonly stallMs?: number;
  /** one line per retry, for a log; never holds the token */
  readonly onRetry?: (message: string) => void;
  readonly signal?: AbortSignal;
}

/** What a host sets beyond `HubRepoOptions`: its fetch's redirect mode and its words. */
export interface HubHostOptions extends Omit<HubRepoOptions, 'fetch'> {
  readonly fetch: HubHostFetch;
  /** `manual`: the fetch hands back redirects and they are followed here (default `follow`) */
  readonly redirect?: 'follow' | 'manual';
  /** a server that ignores Range is read from byte 0 up to this many bytes before the range (default MAX_SKIP_BYTES) */
  readonly maxSkipBytes?: number;
  /** said after a connection that could not be made (default: the connection, and CORS) */
  readonly connectionHint?: string;
}

/** What a repository holds, by its file names. */
export type HubRepoKind = 'package' | 'checkpoint' | 'unknown';

/** EditMGT's published checkpoint: its subfolders and config files. */
const CHECKPOINT_MARKS =
  /^(editmgt|vqvae|text_encoder|llm_encoder|transformer|tokenizer|scheduler)\/|(^|\/)model_index\.json$/;

export function hubRepoKind(files: Iterable<string>): HubRepoKind {
  let checkpoint = false;
  for (const f of files) {
    if (f === 'manifest.json') return 'package';
    if (CHECKPOINT_MARKS.test(f)) checkpoint = true;
  }
  return checkpoint ? 'checkpoint' : 'unknown';
}

export interface HubRepo extends CheckpointSource {
  readonly repo: string;
  /** the revision asked for (`main`, a tag, a commit) */
  readonly revision: string;
  /** the commit every read is pinned to */
  readonly commit: string;
  readonly routes: HubRoutes;
  /** every file (path → bytes) at the commit */
  readonly sizes: ReadonlyMap<string, number>;
  readonly kind: HubRepoKind;
  /** the folder every file of the commit resolves under (`…/resolve/<commit>/`) */
  readonly base: string;
  /** body bytes received so far (all files, retries included) */
  bytesRead(): number;
  /** a whole file as bytes (manifest, configs), refused above `max` bytes */
  readFile(path: string, max?: number, signal?: AbortSignal): Promise<Uint8Array>;
}

/** The host's timers, URL class and AbortController (the engine is compiled without DOM or node types). */
const host = globalThis as unknown as {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
  URL: new (url: string, base?: string) => { readonly href: string; readonly origin: string };
  AbortController: new () => { readonly signal: AbortSignal; abort(reason?: unknown): void };
};

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      host.clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = host.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `url`'s origin as the URL standard writes it (`https://huggingface.co`), or '' for no URL. */
function originOf(url: string): string {
  try {
    return new host.URL(url).origin;
  } catch {
    return '';
  }
}

/** The cause of a fetch failure in one line (node's fetch puts the socket's error in `cause`). */
function why(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string } };
  const cause = e?.cause;
  return cause ? `${cause.code ?? ''} ${cause.message}`.trim() : String(e?.message ?? err);
}

/** A failure worth another try, with the wait the server asked for. */
class Transient extends Error {
  constructor(
    message: string,
    readonly waitMs?: number,
  ) {
    super(message);
  }
}

/** One try's final (non-redirect, 2xx) answer. */
interface AnswerContext {
  /** the first answer of this try: the hub's own, before any redirect followed here */
  readonly first: HubResponse;
  /** call on every body chunk: the stall timer starts again */
  readonly alive: () => void;
}

interface Client {
  readonly routes: HubRoutes;
  readonly maxSkipBytes: number;
  redact(text: string): string;
  /** GET `url` with retries; `handle` reads a final 2xx answer (a HubError from it is not retried) */
  get<T>(
    url: string,
    what: string,
    headers: () => Record<string, string>,
    handle: (res: HubResponse, ctx: AnswerContext) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T>;
}

const MAX_REDIRECTS = 10;

function client(repo: string, options: HubHostOptions): Client {
  const routes = hubRoutes(options.endpoint ?? DEFAULT_HUB_ENDPOINT, repo);
  const hubOrigin = originOf(routes.origin);
  const secret = options.token?.trim() || undefined;
  const rules: HubRetryRules = {
    maxTries: options.maxTries ?? HUB_RETRY_DEFAULTS.maxTries,
    baseDelayMs: options.baseDelayMs ?? HUB_RETRY_DEFAULTS.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? HUB_RETRY_DEFAULTS.maxDelayMs,
    maxRetryAfterMs: options.maxRetryAfterMs ?? HUB_RETRY_DEFAULTS.maxRetryAfterMs,
  };
  const stallMs = options.stallMs ?? 30_000;
  const redirect = options.redirect ?? 'follow';
  const hint = options.connectionHint ?? 'check the connection, and that the host allows this site (CORS)';
  const redact = (text: string) => (secret ? text.split(secret).join('***') : text);
  const place = options.tokenPlace ?? FIELD_TOKEN;
  const refusal = (res: HubResponse, what: string) => {
    const e = hubRefusalMessage(
      {
        status: res.status,
        code: res.headers.get('x-error-code'),
        detail: res.headers.get('x-error-message'),
      },
      { what, repo, routes, hasToken: secret !== undefined, token: place },
    );
    return new HubError(redact(e.message), e.status, e.code);
  };
  // the token only to the hub's own origin (on a redirect the browser drops it itself)
  const withToken = (url: string, extra: Record<string, string>) =>
    secret && originOf(url) === hubOrigin ? { ...extra, Authorization: `Bearer ${secret}` } : extra;

  return {
    routes,
    maxSkipBytes: options.maxSkipBytes ?? MAX_SKIP_BYTES,
    redact,
    async get(url, what, headers, handle, signal = options.signal) {
      for (let attempt = 1; ; attempt++) {
        signal?.throwIfAborted();
        const ac = new host.AbortController();
        const onAbort = () => ac.abort(signal!.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        // a stall (no answer, or no byte of the body, for stallMs) aborts this try only
        let stalled = false;
        let timer = host.setTimeout(() => ((stalled = true), ac.abort()), stallMs);
        const alive = () => {
          host.clearTimeout(timer);
          timer = host.setTimeout(() => ((stalled = true), ac.abort()), stallMs);
        };
        try {
          let at = url;
          let first: HubResponse | undefined;
          for (let hop = 0; ; hop++) {
            let res: HubResponse;
            try {
              res = await options.fetch(at, {
                headers: withToken(at, headers()),
                signal: ac.signal,
                credentials: 'omit',
                redirect,
                cache: 'no-store',
              });
            } catch (err) {
              if (signal?.aborted) throw err;
              throw new Transient(
                stalled
                  ? `no answer within ${stallMs / 1000} s`
                  : `could not reach the hub (${why(err)})${hint ? `; ${hint}` : ''}`,
              );
            }
            alive();
            first ??= res;
            const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
            if (location !== null) {
              await res.body?.cancel().catch(() => {});
              if (hop >= MAX_REDIRECTS)
                throw new HubError(redact(`${what}: more than ${MAX_REDIRECTS} redirects`));
              at = new host.URL(location, at).href;
              continue;
            }
            if (isRetryStatus(res.status)) {
              await res.body?.cancel().catch(() => {});
              const wait = retryAfterMs(res.headers.get('retry-after'), Date.now());
              if (wait !== undefined && wait > rules.maxRetryAfterMs)
                throw new HubError(redact(retryTooLongMessage(what, res.status, wait)), res.status);
              throw new Transient(`HTTP ${res.status}`, wait);
            }
            if (!res.ok) {
              await res.body?.cancel().catch(() => {});
              throw refusal(res, what);
            }
            return await handle(res, { first, alive }).catch((err: unknown) => {
              if (signal?.aborted || err instanceof HubError || err instanceof Transient) throw err;
              throw new Transient(
                stalled ? `no data for ${stallMs / 1000} s` : `the connection broke (${why(err)})`,
              );
            });
          }
        } catch (err) {
          if (!(err instanceof Transient)) {
            if (err instanceof HubError || signal?.aborted) throw err;
            throw new HubError(redact(`${what}: ${why(err)}`));
          }
          if (attempt >= rules.maxTries)
            throw new HubError(redact(`${what}: ${err.message}, ${rules.maxTries} tries in all; giving up`));
          const wait = retryWaitMs(rules, attempt, err.waitMs);
          options.onRetry?.(
            redact(
              `${what}: ${err.message}; try ${attempt + 1} of ${rules.maxTries} in ${(wait / 1000).toFixed(1)} s`,
            ),
          );
          await sleep(wait, signal);
        } finally {
          host.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        }
      }
    },
  };
}

/** Reads a body into `out` from `at`, calling `progress` with the count reached. */
async function readInto(
  res: HubResponse,
  out: Uint8Array,
  at: number,
  progress: (n: number) => void,
  what: string,
): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || !value) return;
      if (at + value.byteLength > out.byteLength) {
        await reader.cancel().catch(() => {});
        throw new HubError(`${what}: the server sent more bytes than the range asked for`);
      }
      out.set(value, at);
      at += value.byteLength;
      progress(at);
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * A 200 to a range request: the whole file from byte 0. Read up to the range's end, dropping the
 * bytes before it, then hang up; refused when that means skipping more than `maxSkip` bytes.
 */
async function readIgnoringRange(
  res: HubResponse,
  start: number,
  out: Uint8Array,
  got: number,
  progress: (n: number) => void,
  what: string,
  size: number,
  maxSkip: number,
): Promise<void> {
  const skip = start + got;
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) !== size) {
    await res.body?.cancel().catch(() => {});
    throw new HubError(
      `${what}: the server ignored the Range and sent ${declared} bytes of a ${size}-byte file`,
    );
  }
  if (skip > maxSkip) {
    await res.body?.cancel().catch(() => {});
    throw new HubError(
      `${what}: the server ignored the Range request (HTTP ${res.status}, the whole file); reading this range would download ${skip} bytes first. Use a server that answers ranges (206)`,
    );
  }
  if (!res.body) return;
  const reader = res.body.getReader();
  let pos = 0; // file offset of the next byte of the body
  let filled = got;
  try {
    while (filled < out.byteLength) {
      const { done, value } = await reader.read();
      if (done || !value) break;
      const from = Math.max(0, skip - pos);
      const take = Math.min(value.byteLength - from, out.byteLength - filled);
      if (take > 0) {
        out.set(value.subarray(from, from + take), filled);
        filled += take;
        progress(filled);
      }
      pos += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

async function readJson(c: Client, url: string, what: string, signal?: AbortSignal) {
  return c.get(
    url,
    what,
    () => ({ Accept: 'application/json' }),
    async (res, { alive }) => {
      const declared = Number(res.headers.get('content-length') ?? 0);
      if (declared > MAX_API_BYTES) throw new HubError(c.redact(`${what}: the answer is ${declared} bytes`));
      const chunks: Uint8Array[] = [];
      let total = 0;
      if (res.body) {
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done || !value) break;
          total += value.byteLength;
          if (total > MAX_API_BYTES) {
            await reader.cancel().catch(() => {});
            throw new HubError(c.redact(`${what}: the answer is over ${MAX_API_BYTES} bytes`));
          }
          chunks.push(value);
          alive();
        }
      }
      const all = new Uint8Array(total);
      let at = 0;
      for (const ch of chunks) all.set(ch, ((at += ch.byteLength), at - ch.byteLength));
      try {
        return { json: JSON.parse(decodeUtf8(all, what)) as unknown, res };
      } catch {
        throw new HubError(c.redact(`${what}: the answer is not JSON`));
      }
    },
    signal,
  );
}

/** Opens `hf:owner/repo[@revision]` with a fetch that follows redirects itself (a page, a worker). */
export function openHubRepo(spec: string | HubSpec, options: HubRepoOptions): Promise<HubRepo> {
  // a fetch that follows redirects is only ever asked to follow them
  return openHub(spec, { ...options, fetch: options.fetch as HubHostFetch, redirect: 'follow' });
}

/** Opens `hf:owner/repo[@revision]`: pins the revision to a commit and lists its files. */
export async function openHub(spec: string | HubSpec, options: HubHostOptions): Promise<HubRepo> {
  const { repo, revision } = typeof spec === 'string' ? parseHubSpec(spec) : spec;
  const c = client(repo, options);
  const { routes } = c;
  const asked = hubSpecText({ repo, revision });
  const info = await readJson(c, routes.revision(revision), asked);
  const commit = revisionCommit(info.res.headers.get('x-repo-commit'), info.json, asked);
  const name = `hf:${repo}@${commit.slice(0, 12)}`;
  const sizes = new Map<string, number>();
  for (let page: string | undefined = routes.tree(commit); page;) {
    const { json, res } = await readJson(c, page, `${name}: listing the files`);
    readTreePage(json, name, sizes);
    const next = nextLinkTarget(res.headers.get('link'));
    page = next === undefined ? undefined : new host.URL(next, page).href;
  }
  const files = [...sizes.keys()].sort();
  let received = 0;

  const open = async (path: string): Promise<ByteSource> => {
    const size = sizes.get(path);
    if (size === undefined) throw new HubError(`${name} has no file ${path}`);
    const url = routes.resolve(commit, path);
    const file = { name: `${name}/${path}`, size };
    // the hub's tag (X-Linked-Etag on a redirect, else ETag) and, past a redirect followed here,
    // the storage host's ETag: each must stay the same for every read of the file
    const tags: { hub?: string; body?: string } = {};
    const same = (key: 'hub' | 'body', tag: string | null) => {
      if (!tag) return;
      const before = (tags[key] ??= tag);
      if (tag !== before)
        throw new HubError(`${file.name} changed while it was being read (ETag ${tag}, before ${before})`);
    };
    const checkAnswer = (res: HubResponse, first: HubResponse) => {
      const served = first.headers.get('x-repo-commit');
      if (served && served !== commit)
        throw new HubError(`${file.name}: the hub served commit ${served}, not the pinned ${commit}`);
      same('hub', first.headers.get('x-linked-etag') ?? first.headers.get('etag'));
      if (res !== first) same('body', res.headers.get('etag'));
    };
    return {
      ...file,
      async read(start, end, signal) {
        checkRange(file, start, end);
        const out = new Uint8Array(end - start);
        if (out.byteLength === 0) return out;
        let got = 0;
        const what = `${file.name} bytes ${start}–${end}`;
        await c.get(
          url,
          what,
          () => ({ Range: `bytes=${start + got}-${end - 1}` }),
          async (res, ctx) => {
            checkAnswer(res, ctx.first);
            const progress = (n: number) => {
              received += n - got;
              got = n;
              ctx.alive();
            };
            if (res.status === 206) {
              const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
              if (!m || Number(m[1]) !== start + got || Number(m[2]) > end - 1)
                throw new HubError(
                  `${what}: the server answered range ${res.headers.get('content-range') ?? '(none)'} to bytes=${start + got}-${end - 1}`,
                );
              if (m[3] !== '*' && Number(m[3]) !== size)
                throw new HubError(`${file.name} is ${m[3]} bytes now, but the listing said ${size}`);
              await readInto(res, out, got, progress, what);
            } else {
              await readIgnoringRange(res, start, out, got, progress, what, size, c.maxSkipBytes);
            }
            if (got < out.byteLength)
              throw new Error(`the body ended after ${got} of ${out.byteLength} bytes`);
          },
          signal,
        );
        return out;
      },
    };
  };

  return {
    name,
    repo,
    revision,
    commit,
    routes,
    sizes,
    kind: hubRepoKind(files),
    base: routes.resolveBase(commit),
    bytesRead: () => received,
    async list() {
      return files;
    },
    open,
    async readFile(path, max = MAX_API_BYTES, signal) {
      const f = await open(path);
      if (f.size > max) throw new HubError(`${f.name} is ${f.size} bytes; at most ${max} are read whole`);
      return f.read(0, f.size, signal);
    },
  };
}
