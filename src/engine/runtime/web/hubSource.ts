/**
 * `hf:owner/repo[@revision]` in a page or a worker: the hub repository (`src/engine/hub/hubRepo.ts`)
 * read with the browser's own `fetch`, which follows the hub's redirects to its storage host and
 * drops the token on the way (the Fetch standard's rule for a redirect to another origin). What a
 * repository holds, its size, and its files by byte range as a `CheckpointSource` for the
 * converter.
 */
import { openHubRepo } from '../../hub/hubRepo';
import type { HubFetch, HubRepo, HubRepoOptions } from '../../hub/hubRepo';

export type WebHubOptions = Omit<HubRepoOptions, 'fetch'>;

/** Opens a hub repository at one commit with the global `fetch`. */
export function webHubSource(spec: string, options: WebHubOptions = {}): Promise<HubRepo> {
  const fetch = globalThis.fetch.bind(globalThis) as unknown as HubFetch;
  return openHubRepo(spec, { ...options, fetch });
}
