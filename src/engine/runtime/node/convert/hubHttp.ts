/**
 * HTTP for the hub source: one GET with the hub's rules applied.
 * - The token goes only to the hub's own origin (`Authorization: Bearer`), never to the host a
 *   redirect leads to (the hub sends large files to a storage host with a signed URL), never into
 *   a URL, a message or a log line (messages pass through `redact`).
 * - Redirects are followed by hand, up to 10 hops, so the rule above holds on every hop.
 * - 429 and 5xx answers, and connections that fail, are retried with exponential backoff, up to
 *   `maxTries` tries in all; a `Retry-After` (seconds or an HTTP date) sets the wait instead.
 * - A ranged body that breaks off mid-way is resumed from the byte reached, not from the start.
 */
import {
  HUB_RETRY_DEFAULTS,
  HubError,
  isRetryStatus,
  retryAfterMs as retryAfter,
  retryTooLongMessage,
  retryWaitMs,
} from '../../../hub/hubRules';

export { HubError } from '../../../hub/hubRules';

export interface HubHttpOptions {
  /** tries per request in all, retries included (default 5) */
  readonly maxTries?: number;
  /** first backoff wait (default 500 ms), doubled each retry */
  readonly baseDelayMs?: number;
  /** backoff cap (default 30 s) */
  readonly maxDelayMs?: number;
  /** the longest `Retry-After` honoured (default 120 s); a longer one ends the read with a message */
  readonly maxRetryAfterMs?: number;
  /** no byte for this long ends an attempt (default 30 s), which is then retried or resumed */
  readonly stallMs?: number;
  /** one line per retry, for a log; never holds the token */
  readonly onRetry?: (message: string) => void;
}

export interface HubHttp {
  readonly endpoint: URL;
  readonly hasToken: boolean;
  readonly options: Required<Omit<HubHttpOptions, 'onRetry'>> & Pick<HubHttpOptions, 'onRetry'>;
  /** the message with every occurrence of the token masked */
  redact(text: string): string;
  /** headers for `url`: the token only for the hub's origin */
  headers(url: URL, extra?: Record<string, string>): Record<string, string>;
}

export function hubHttp(endpoint: string, token: string | undefined, options: HubHttpOptions = {}): HubHttp {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    const shown = token?.trim() ? endpoint.split(token.trim()).join('***') : endpoint;
    throw new HubError(`HF_ENDPOINT ${JSON.stringify(shown)} is not a URL`);
  }
  const secret = token?.trim() || undefined;
  return {
    endpoint: url,
    hasToken: secret !== undefined,
    options: {
      maxTries: options.maxTries ?? HUB_RETRY_DEFAULTS.maxTries,
      baseDelayMs: options.baseDelayMs ?? HUB_RETRY_DEFAULTS.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? HUB_RETRY_DEFAULTS.maxDelayMs,
      maxRetryAfterMs: options.maxRetryAfterMs ?? HUB_RETRY_DEFAULTS.maxRetryAfterMs,
      stallMs: options.stallMs ?? 30_000,
      onRetry: options.onRetry,
    },
    redact: (text) => (secret ? text.split(secret).join('***') : text),
    headers(target, extra = {}) {
      return target.origin === url.origin && secret
        ? { ...extra, Authorization: `Bearer ${secret}` }
        : { ...extra };
    },
  };
}

/** Milliseconds a `Retry-After` value asks for (seconds or an HTTP date), or undefined. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  return retryAfter(value, now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A failure worth another try (429, 5xx, a broken connection), with the wait the server asked for. */
class Transient extends Error {
  constructor(
    message: string,
    readonly waitMs?: number,
  ) {
    super(message);
  }
}

/** One try's final (non-redirect) answer, with the hub's own first answer and a stall-timer reset. */
export interface AttemptContext {
  /** the first answer of this try (the hub's, before any redirect) */
  readonly first: Response;
  /** the URL that gave the final answer */
  readonly url: URL;
  /** call on every body chunk: the stall timer starts again */
  readonly alive: () => void;
}

/** What a caller makes of a final answer: a value, or a thrown `HubError` (never retried). */
export type Attempt<T> = (res: Response, ctx: AttemptContext) => Promise<T>;

/** The cause of a fetch failure in one line (undici puts the socket's error in `cause`). */
function why(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string } };
  const cause = e?.cause;
  return cause ? `${cause.code ?? ''} ${cause.message}`.trim() : String(e?.message ?? err);
}

/**
 * GET `url` with retries. `build` gives the extra headers of each try (a resumed range starts
 * later); `handle` reads the final answer. `what` names the request in messages.
 */
export async function hubGet<T>(
  http: HubHttp,
  url: URL,
  what: string,
  build: () => Record<string, string>,
  handle: Attempt<T>,
  signal?: AbortSignal,
): Promise<T> {
  const { maxTries, maxRetryAfterMs, stallMs, onRetry } = http.options;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    // a stall (no answer, or no byte of the body, for stallMs) aborts this try only
    let stalled = false;
    let timer = setTimeout(() => ((stalled = true), ac.abort()), stallMs);
    const kick = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ((stalled = true), ac.abort()), stallMs);
    };
    try {
      let at = url;
      let first: Response | undefined;
      for (let hop = 0; ; hop++) {
        let res: Response;
        try {
          res = await fetch(at, {
            headers: http.headers(at, build()),
            redirect: 'manual',
            signal: ac.signal,
          });
        } catch (err) {
          if (signal?.aborted) throw err;
          throw new Transient(
            stalled ? `no answer within ${stallMs / 1000} s` : `connection failed (${why(err)})`,
          );
        }
        kick();
        first ??= res;
        if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
          await res.body?.cancel().catch(() => {});
          if (hop >= 10) throw new HubError(http.redact(`${what}: more than 10 redirects`));
          at = new URL(res.headers.get('location')!, at);
          continue;
        }
        if (isRetryStatus(res.status)) {
          await res.body?.cancel().catch(() => {});
          const wait = retryAfterMs(res.headers.get('retry-after'));
          if (wait !== undefined && wait > maxRetryAfterMs)
            throw new HubError(http.redact(retryTooLongMessage(what, res.status, wait)), res.status);
          throw new Transient(`HTTP ${res.status}`, wait);
        }
        return await handle(res, { first, url: at, alive: kick }).catch((err: unknown) => {
          if (signal?.aborted || err instanceof HubError || err instanceof Transient) throw err;
          throw new Transient(
            stalled ? `no data for ${stallMs / 1000} s` : `the connection broke (${why(err)})`,
          );
        });
      }
    } catch (err) {
      if (!(err instanceof Transient)) {
        if (err instanceof HubError || signal?.aborted) throw err;
        throw new HubError(http.redact(`${what}: ${why(err)}`));
      }
      if (attempt >= maxTries)
        throw new HubError(http.redact(`${what}: ${err.message}, ${maxTries} tries in all; giving up`));
      const wait = retryWaitMs(http.options, attempt, err.waitMs);
      onRetry?.(
        http.redact(
          `${what}: ${err.message}; try ${attempt + 1} of ${maxTries} in ${(wait / 1000).toFixed(1)} s`,
        ),
      );
      await sleep(wait, signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** Reads a body chunk by chunk into `into` from `offset`, calling `progress` with each count. */
export async function readBodyInto(
  res: Response,
  into: Uint8Array,
  offset: number,
  progress: (bytes: number) => void,
  what: string,
): Promise<number> {
  if (!res.body) return offset;
  const reader = res.body.getReader();
  let at = offset;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return at;
      if (at + value.byteLength > into.byteLength)
        throw new HubError(`${what}: the server sent more bytes than the range asked for`);
      into.set(value, at);
      at += value.byteLength;
      progress(at);
    }
  } finally {
    reader.releaseLock();
  }
}
