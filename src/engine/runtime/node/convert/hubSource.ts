/**
 * `hf:owner/repo[@revision]` as a `CheckpointSource`: a Hugging Face Hub model repository read
 * over HTTP, file by file and by byte range, without a local copy.
 *
 * Routes (the ones huggingface_hub and huggingface.js use):
 * - `GET {endpoint}/api/models/{repo}/revision/{revision}`: the commit the revision names (the
 *   `X-Repo-Commit` header, else the JSON's `sha`). Every later request names that commit, so all
 *   reads see one commit even if the branch moves meanwhile.
 * - `GET {endpoint}/api/models/{repo}/tree/{commit}?recursive=true`: every file with its size,
 *   page by page (`Link: <…>; rel="next"`).
 * - `GET {endpoint}/{repo}/resolve/{commit}/{path}` with `Range: bytes=a-b`: the file's bytes. The
 *   hub answers small files itself and redirects large (LFS) ones to a storage host; `ETag` (or
 *   `X-Linked-Etag` on the redirect) must stay the same for every read of a file.
 *
 * `HF_ENDPOINT` sets the endpoint (default https://huggingface.co); `HF_TOKEN` is sent as a bearer
 * token to that origin only (gated repositories such as Gemma's need it). See hubHttp.ts for
 * retries, resuming and what is done to keep the token out of messages.
 */
import { checkRange } from '../../../convert/byteSource';
import type { ByteSource, CheckpointSource } from '../../../convert/byteSource';
import {
  DEFAULT_HUB_ENDPOINT,
  ENV_TOKEN,
  HubError,
  MAX_API_BYTES,
  MAX_SKIP_BYTES,
  hubRefusalMessage,
  hubRoutes,
  nextLinkTarget,
  parseHubSpec,
  readTreePage,
  revisionCommit,
} from '../../../hub/hubRules';
import type { HubRoutes, HubSpec } from '../../../hub/hubRules';
import { hubGet, hubHttp, readBodyInto } from './hubHttp';
import type { HubHttp, HubHttpOptions } from './hubHttp';

export { HubError, isHubSpec, MAX_SKIP_BYTES, parseHubSpec } from '../../../hub/hubRules';
export type { HubSpec } from '../../../hub/hubRules';

export const DEFAULT_ENDPOINT = DEFAULT_HUB_ENDPOINT;

export interface HubSourceOptions extends HubHttpOptions {
  /** a server that ignores Range is read from byte 0 up to this many bytes before the range (default MAX_SKIP_BYTES) */
  readonly maxSkipBytes?: number;
  /** where HF_ENDPOINT and HF_TOKEN are read (default process.env) */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

export interface HubCheckpointSource extends CheckpointSource {
  readonly repo: string;
  readonly revision: string;
  /** the commit every read is pinned to */
  readonly commit: string;
  /** body bytes received so far (all files, retries included) */
  bytesRead(): number;
}

/** The message for an answer that is neither a success nor worth a retry. */
function statusError(http: HubHttp, routes: HubRoutes, repo: string, what: string, res: Response): HubError {
  const refused = hubRefusalMessage(
    { status: res.status, code: res.headers.get('x-error-code'), detail: res.headers.get('x-error-message') },
    { what, repo, routes, hasToken: http.hasToken, token: ENV_TOKEN },
  );
  return new HubError(http.redact(refused.message), refused.status, refused.code);
}

async function readJson(
  http: HubHttp,
  routes: HubRoutes,
  repo: string,
  url: URL,
  what: string,
  signal?: AbortSignal,
) {
  return hubGet(
    http,
    url,
    what,
    () => ({ Accept: 'application/json' }),
    async (res) => {
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw statusError(http, routes, repo, what, res);
      }
      const declared = Number(res.headers.get('content-length') ?? 0);
      if (declared > MAX_API_BYTES)
        throw new HubError(http.redact(`${what}: the answer is ${declared} bytes`));
      const text = await res.text();
      try {
        return { json: JSON.parse(text) as unknown, res };
      } catch {
        throw new HubError(http.redact(`${what}: the answer is not JSON`));
      }
    },
    signal,
  );
}

/** Opens `hf:owner/repo[@revision]`: pins the revision to a commit and lists its files. */
export async function hubSource(
  spec: string | HubSpec,
  options: HubSourceOptions = {},
): Promise<HubCheckpointSource> {
  const { repo, revision } = typeof spec === 'string' ? parseHubSpec(spec) : spec;
  const env = options.env ?? process.env;
  const http = hubHttp(env['HF_ENDPOINT'] || DEFAULT_HUB_ENDPOINT, env['HF_TOKEN'], options);
  const { signal, maxSkipBytes: maxSkip = MAX_SKIP_BYTES } = options;
  const routes = hubRoutes(http.endpoint.href, repo);

  const info = await readJson(
    http,
    routes,
    repo,
    new URL(routes.revision(revision)),
    `hf:${repo}@${revision}`,
    signal,
  );
  const commit = revisionCommit(info.res.headers.get('x-repo-commit'), info.json, `hf:${repo}@${revision}`);

  const name = `hf:${repo}@${commit.slice(0, 12)}`;
  const sizes = new Map<string, number>();
  for (let page: URL | undefined = new URL(routes.tree(commit)); page;) {
    const { json, res } = await readJson(http, routes, repo, page, `${name}: listing the files`, signal);
    readTreePage(json, name, sizes);
    const next = nextLinkTarget(res.headers.get('link'));
    page = next === undefined ? undefined : new URL(next, page);
  }
  const files = [...sizes.keys()].sort();
  let received = 0;

  const open = async (path: string): Promise<ByteSource> => {
    const size = sizes.get(path);
    if (size === undefined) throw new HubError(`${name} has no file ${path}`);
    const url = new URL(routes.resolve(commit, path));
    const file = { name: `${name}/${path}`, size };
    // the hub's tag (X-Linked-Etag on a redirect, else ETag) and the answering host's ETag:
    // each must stay the same for every read of the file
    const tags: { hub?: string; body?: string } = {};
    const same = (key: 'hub' | 'body', tag: string | null) => {
      if (!tag) return;
      const before = (tags[key] ??= tag);
      if (tag !== before)
        throw new HubError(`${file.name} changed while it was being read (ETag ${tag}, before ${before})`);
    };
    const checkAnswer = (res: Response, first: Response) => {
      const served = first.headers.get('x-repo-commit');
      if (served && served !== commit)
        throw new HubError(`${file.name}: the hub served commit ${served}, not the pinned ${commit}`);
      same('hub', first.headers.get('x-linked-etag') ?? first.headers.get('etag'));
      if (res !== first) same('body', res.headers.get('etag'));
    };

    return {
      ...file,
      async read(start, end, readSignal = signal) {
        checkRange(file, start, end);
        const out = new Uint8Array(end - start);
        if (out.byteLength === 0) return out;
        let got = 0;
        const what = `${file.name} bytes ${start}–${end}`;
        await hubGet(
          http,
          url,
          what,
          () => ({ Range: `bytes=${start + got}-${end - 1}` }),
          async (res, ctx) => {
            if (!res.ok) {
              await res.body?.cancel().catch(() => {});
              throw statusError(http, routes, repo, what, res);
            }
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
              await readBodyInto(res, out, got, progress, what);
            } else {
              await readIgnoringRange(res, start, out, got, progress, what, size, maxSkip);
            }
            if (got < out.byteLength)
              throw new Error(`the body ended after ${got} of ${out.byteLength} bytes`);
          },
          readSignal,
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
    bytesRead: () => received,
    async list() {
      return files;
    },
    open,
  };
}

/**
 * A 200 to a range request: the whole file from byte 0. Read up to the range's end, dropping the
 * bytes before it, then hang up; refused when that means skipping more than `maxSkip` bytes.
 */
async function readIgnoringRange(
  res: Response,
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
      `${what}: the server ignored the Range request (HTTP 200, the whole file); reading this range would download ${skip} bytes first. Use a server that answers ranges (206)`,
    );
  }
  if (!res.body) return;
  const reader = res.body.getReader();
  let pos = 0; // file offset of the next byte of the body
  let filled = got;
  try {
    while (filled < out.byteLength) {
      const { done, value } = await reader.read();
      if (done) break;
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
