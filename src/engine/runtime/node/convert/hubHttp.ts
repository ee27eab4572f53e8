/**
 * Node's side of the hub client (`src/engine/hub/hubRepo.ts`, the browser's too): node's `fetch`
 * asked to hand back redirects (`redirect: 'manual'`), so that the client follows them itself and
 * sends the token on no hop that leaves the hub's origin (the hub sends large files to a storage
 * host with a signed URL). Retries, backoff, `Retry-After`, resuming and the messages are the
 * client's.
 */
import type { HubHostFetch, HubHostOptions, HubResponse } from '../../../hub/hubRepo';
import { retryAfterMs as retryAfter } from '../../../hub/hubRules';

export { HubError } from '../../../hub/hubRules';

/** node's global fetch as the hub client calls it */
const nodeFetch: HubHostFetch = (url, init) => fetch(url, init) as unknown as Promise<HubResponse>;

/** How node reads the hub: its fetch, redirects followed by the client, no browser words. */
export const NODE_HUB_HOST: Pick<HubHostOptions, 'fetch' | 'redirect' | 'connectionHint'> = {
  fetch: nodeFetch,
  redirect: 'manual',
  connectionHint: 'check the connection and HF_ENDPOINT',
};

/** Milliseconds a `Retry-After` value asks for (seconds or an HTTP date), or undefined. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  return retryAfter(value, now);
}
