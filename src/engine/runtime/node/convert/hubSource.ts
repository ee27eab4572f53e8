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
 * token to that origin only (gated repositories such as Gemma's need it). The client is the
 * browser's too (`src/engine/hub/hubRepo.ts`: retries, resuming, what is done to keep the token out
 * of messages); node hands in its fetch and has the client follow redirects (hubHttp.ts).
 */
import type { CheckpointSource } from '../../../convert/byteSource';
import { openHub } from '../../../hub/hubRepo';
import type { HubRepoOptions } from '../../../hub/hubRepo';
import { DEFAULT_HUB_ENDPOINT, ENV_TOKEN, HubError, parseHubSpec } from '../../../hub/hubRules';
import type { HubSpec } from '../../../hub/hubRules';
import { NODE_HUB_HOST } from './hubHttp';

export { HubError, isHubSpec, MAX_SKIP_BYTES, parseHubSpec } from '../../../hub/hubRules';
export type { HubSpec } from '../../../hub/hubRules';

export const DEFAULT_ENDPOINT = DEFAULT_HUB_ENDPOINT;

export interface HubSourceOptions extends Omit<
  HubRepoOptions,
  'fetch' | 'endpoint' | 'token' | 'tokenPlace'
> {
  /** a server that ignores Range is read from byte 0 up to this many bytes before the range (default MAX_SKIP_BYTES) */
  readonly maxSkipBytes?: number;
  /** where HF_ENDPOINT and HF_TOKEN are read (default process.env) */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface HubCheckpointSource extends CheckpointSource {
  readonly repo: string;
  readonly revision: string;
  /** the commit every read is pinned to */
  readonly commit: string;
  /** body bytes received so far (all files, retries included) */
  bytesRead(): number;
}

/** Opens `hf:owner/repo[@revision]`: pins the revision to a commit and lists its files. */
export async function hubSource(
  spec: string | HubSpec,
  options: HubSourceOptions = {},
): Promise<HubCheckpointSource> {
  const parsed = typeof spec === 'string' ? parseHubSpec(spec) : spec;
  const { env = process.env, ...rest } = options;
  const given = env['HF_ENDPOINT'] || DEFAULT_HUB_ENDPOINT;
  const token = env['HF_TOKEN'];
  let endpoint: string;
  try {
    endpoint = new URL(given).href;
  } catch {
    const shown = token?.trim() ? given.split(token.trim()).join('***') : given;
    throw new HubError(`HF_ENDPOINT ${JSON.stringify(shown)} is not a URL`);
  }
  return openHub(parsed, { ...rest, ...NODE_HUB_HOST, endpoint, token, tokenPlace: ENV_TOKEN });
}
