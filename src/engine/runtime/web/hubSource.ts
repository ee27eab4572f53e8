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

/** A gated repository's token for one download, and the hub origin it may go to. */
export interface HubAuthHeader {
  readonly origin: string;
  readonly token: string;
}

/**
 * The headers a package download sends to `url`: the token (`Authorization: Bearer`) when `url`
 * is on the hub's own origin, nothing otherwise. The browser drops the header itself when the
 * hub redirects to its storage host.
 */
export function hubHeaders(auth: HubAuthHeader | undefined): (url: string) => Record<string, string> {
  if (!auth?.token.trim()) return () => ({});
  let origin: string;
  try {
    origin = new URL(auth.origin).origin;
  } catch {
    return () => ({});
  }
  const bearer = `Bearer ${auth.token.trim()}`;
  return (url): Record<string, string> => {
    try {
      return new URL(url).origin === origin ? { Authorization: bearer } : {};
    } catch {
      return {};
    }
  };
}
