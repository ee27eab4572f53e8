/**
 * The Hugging Face Hub's rules, the same for every host (node's `hf:` source, the browser's):
 * the `hf:owner/repo[@revision]` text, the routes the hub answers, what its answers mean (commit,
 * file listing, error codes), the messages a person reads, and how long to wait before a retry.
 * Pure: no fetch, no URL class, no clock of its own.
 *
 * Routes (the ones huggingface_hub and huggingface.js use):
 * - `GET {endpoint}/api/models/{repo}/revision/{revision}`: the commit the revision names (the
 *   `X-Repo-Commit` header, else the JSON's `sha`); every later request names that commit;
 * - `GET {endpoint}/api/models/{repo}/tree/{commit}?recursive=true`: every file with its size,
 *   page by page (`Link: <…>; rel="next"`);
 * - `GET {endpoint}/{repo}/resolve/{commit}/{path}`: the file's bytes (ranges allowed); large
 *   files are redirected to a storage host.
 */
import { CheckpointError } from '../convert/byteSource';

/** The hub everyone means by `hf:`. */
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
/** A server that ignores Range is read from byte 0; beyond this many bytes to skip, the read is refused. */
export const MAX_SKIP_BYTES = 16 << 20;
/** The longest API answer (revision info, one listing page) read. */
export const MAX_API_BYTES = 64 << 20;

/** A hub answer or rule that ends the read; the message never holds the token. */
export class HubError extends CheckpointError {
  override name = 'HubError';
  constructor(
    message: string,
    readonly status?: number,
    /** the hub's `X-Error-Code` (`GatedRepo`, `RepoNotFound`, …) when it sent one */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface HubSpec {
  readonly repo: string;
  readonly revision: string;
}

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

export function isHubSpec(text: string): boolean {
  return text.startsWith('hf:');
}

/** `hf:owner/repo` or `hf:owner/repo@revision` (a branch, tag or commit; default `main`). */
export function parseHubSpec(text: string): HubSpec {
  if (!isHubSpec(text))
    throw new HubError(`${JSON.stringify(text)} is not a hub source (hf:owner/repo[@revision])`);
  const body = text.slice(3);
  const at = body.indexOf('@');
  const repo = at < 0 ? body : body.slice(0, at);
  const revision = at < 0 ? 'main' : body.slice(at + 1);
  if (!REPO_ID.test(repo) || repo.includes('..'))
    throw new HubError(`${JSON.stringify(text)}: expected hf:owner/repo[@revision], e.g. hf:WeiChow/EditMGT`);
  if (!revision) throw new HubError(`${JSON.stringify(text)}: the revision after '@' is empty`);
  if (!REVISION.test(revision) || revision.includes('..'))
    throw new HubError(
      `${JSON.stringify(text)}: the revision ${JSON.stringify(revision)} is not a branch, tag or commit name`,
    );
  return { repo, revision };
}

/** `hf:owner/repo@revision`, the text `parseHubSpec` reads back. */
export function hubSpecText(spec: HubSpec): string {
  return `hf:${spec.repo}@${spec.revision}`;
}

export function isCommit(text: string): boolean {
  return /^[0-9a-f]{40}$/.test(text);
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The hub's addresses for one repository; `endpoint` is an absolute http(s) address. */
export interface HubRoutes {
  /** the endpoint's origin (`https://huggingface.co`): the only host a token is sent to */
  readonly origin: string;
  /** the repository's page, where a person signs in and accepts a gated repository's licence */
  readonly page: string;
  /** where a person makes an access token */
  readonly tokens: string;
  revision(revision: string): string;
  tree(commit: string): string;
  /** a file's bytes at a commit */
  resolve(commit: string, path: string): string;
  /** the folder all of a commit's files resolve under (ends in `/`) */
  resolveBase(commit: string): string;
}

export function hubRoutes(endpoint: string, repo: string): HubRoutes {
  const m = /^(https?:\/\/[^/?#]+)(\/[^?#]*)?$/i.exec(endpoint);
  if (!m) throw new HubError(`the hub endpoint ${JSON.stringify(endpoint)} is not an http(s) address`);
  const origin = m[1]!.toLowerCase();
  const base = `${origin}${(m[2] ?? '').replace(/\/+$/, '')}`;
  return {
    origin,
    page: `${base}/${repo}`,
    tokens: `${origin}/settings/tokens`,
    revision: (revision) => `${base}/api/models/${repo}/revision/${encodeURIComponent(revision)}`,
    tree: (commit) => `${base}/api/models/${repo}/tree/${commit}?recursive=true`,
    resolve: (commit, path) => `${base}/${repo}/resolve/${commit}/${encodePath(path)}`,
    resolveBase: (commit) => `${base}/${repo}/resolve/${commit}/`,
  };
}

/** The `rel="next"` target of a `Link` header (as written: the host resolves it against the page). */
export function nextLinkTarget(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1]!;
  }
  return undefined;
}

/** The commit a revision answer names: the `X-Repo-Commit` header, else the JSON's `sha`. */
export function revisionCommit(header: string | null, json: unknown, label: string): string {
  const sha = (json as { sha?: unknown } | null)?.sha;
  const commit = header ?? (typeof sha === 'string' ? sha : undefined);
  if (!commit || !isCommit(commit)) throw new HubError(`${label}: the hub named no commit for this revision`);
  return commit;
}

/** The files (path → bytes) of one page of the tree listing, added to `into`. */
export function readTreePage(json: unknown, label: string, into: Map<string, number>): void {
  if (!Array.isArray(json)) throw new HubError(`${label}: the file listing is not a list`);
  for (const e of json as { type?: unknown; path?: unknown; size?: unknown; lfs?: { size?: unknown } }[]) {
    if (e?.type !== 'file') continue;
    const size = e.lfs?.size ?? e.size; // an LFS file's own size, not its pointer's
    if (typeof e.path !== 'string' || !Number.isSafeInteger(size) || (size as number) < 0)
      throw new HubError(`${label}: the file listing has a bad entry ${JSON.stringify(e).slice(0, 200)}`);
    into.set(e.path, size as number);
  }
}

/** Milliseconds a `Retry-After` value asks for (seconds or an HTTP date), or undefined. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface HubRetryRules {
  /** tries per request in all, retries included (default 5) */
  readonly maxTries: number;
  /** first backoff wait (default 500 ms), doubled each retry */
  readonly baseDelayMs: number;
  /** backoff cap (default 30 s) */
  readonly maxDelayMs: number;
  /** the longest `Retry-After` honoured (default 120 s); a longer one ends the read with a message */
  readonly maxRetryAfterMs: number;
}

export const HUB_RETRY_DEFAULTS: HubRetryRules = {
  maxTries: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
};

/** An answer worth another try: 429 (too many requests) and 5xx. */
export function isRetryStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** The wait before try `attempt + 1`: what the server asked for, else exponential backoff. */
export function retryWaitMs(rules: HubRetryRules, attempt: number, asked: number | undefined): number {
  return asked ?? Math.min(rules.maxDelayMs, rules.baseDelayMs * 2 ** (attempt - 1));
}

/** The message for a `Retry-After` longer than the rules allow to wait. */
export function retryTooLongMessage(what: string, status: number, waitMs: number): string {
  return `${what}: HTTP ${status}, and the server asks to wait ${Math.round(waitMs / 1000)} s (Retry-After); try again later`;
}

/** Where the person puts a token, in the words messages use. */
export interface TokenPlace {
  /** names the token given: `HF_TOKEN`, `the token field` */
  readonly name: string;
  /** after "create a read token at …": `set it in the HF_TOKEN environment variable` */
  readonly give: string;
  /** after "create a read token at …" when one was given: `set HF_TOKEN to it` */
  readonly replace: string;
  /** a token was given: `HF_TOKEN is set` */
  readonly given: string;
  /** another token, one with access: `set HF_TOKEN to a token that has access` */
  readonly other: string;
  /** for a private repository: `set HF_TOKEN` */
  readonly forPrivate: string;
}

export const ENV_TOKEN: TokenPlace = {
  name: 'HF_TOKEN',
  give: 'set it in the HF_TOKEN environment variable',
  replace: 'set HF_TOKEN to it',
  given: 'HF_TOKEN is set',
  other: 'set HF_TOKEN to a token that has access',
  forPrivate: 'set HF_TOKEN',
};

/** A hub answer that is neither a success nor worth a retry. */
export interface HubRefusal {
  readonly status: number;
  /** `X-Error-Code` */
  readonly code: string | null;
  /** `X-Error-Message` */
  readonly detail: string | null;
}

/**
 * What a refusal means to the person: a gated or private repository (and how to get access), a
 * token the hub does not accept, one without access, a repository or revision that does not
 * exist. Holds no token (it is never given one).
 */
export function hubRefusalMessage(
  refusal: HubRefusal,
  context: { what: string; repo: string; routes: HubRoutes; hasToken: boolean; token: TokenPlace },
): HubError {
  const { status, code, detail } = refusal;
  const { what, repo, routes, hasToken, token } = context;
  const answer = `HTTP ${status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`;
  let text: string;
  if (status === 401 || status === 403) {
    text = !hasToken
      ? `${what}: the hub refused access to hf:${repo} (${answer}). The repository is gated or private (or does not exist): open ${routes.page}, sign in and accept its licence (or request access), create a read token at ${routes.tokens} and ${token.give}`
      : status === 401 && code !== 'GatedRepo'
        ? `${what}: the hub did not accept the token in ${token.name} (${answer}): it may be mistyped, expired or revoked. Create a read token at ${routes.tokens}, ${token.replace}, and accept the licence at ${routes.page}`
        : `${what}: the hub refused access to hf:${repo} (${answer}). ${token.given}, but that token has no access to this repository: open ${routes.page} signed in as the token's owner and accept the licence (or request access), or ${token.other}`;
  } else if (status === 404 && code === 'RepoNotFound') {
    text = `${what}: there is no repository hf:${repo} on ${routes.origin} (${answer}); if it is private, ${token.forPrivate}`;
  } else if (status === 404 && code === 'RevisionNotFound') {
    text = `${what}: hf:${repo} has no such revision (${answer})`;
  } else if (status === 404) {
    text = `${what}: not found (${answer})`;
  } else {
    text = `${what}: ${answer}`;
  }
  return new HubError(text, status, code ?? undefined);
}
