/**
 * A model package named by a link on another site is not downloaded at once: its manifest alone
 * is read, and the person sees the host and what the download would weigh before saying yes.
 * Until then (and after a "no") the model already chosen stays loaded.
 */
import { MAX_MANIFEST_BYTES, validateManifest } from '../../engine/manifest';
import { downloadSizes } from '../lib/modelUrl';
import type { GetState, SetState, StoreDeps } from './store';

export interface ForeignModelOffer {
  url: string;
  host: string;
  /** Download size per precision once the manifest is read; null while reading or when it failed. */
  sizes: { dtype: string; bytes: number }[] | null;
  /** Why the package cannot be offered (unreachable, not a manifest); null when it can. */
  problem: string | null;
}

async function readCapped(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > limit) throw new Error(`its manifest is ${declared} bytes, more than a manifest can be`);
  const reader = response.body?.getReader();
  if (!reader) return response.text();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      void reader.cancel();
      throw new Error(`its manifest is more than ${limit} bytes, more than a manifest can be`);
    }
    parts.push(value);
  }
  return new TextDecoder().decode(await new Blob(parts as BlobPart[]).arrayBuffer());
}

async function previewPackage(url: string): Promise<{ dtype: string; bytes: number }[]> {
  const manifestUrl = new URL('manifest.json', url).href;
  let response: Response;
  try {
    response = await fetch(manifestUrl, { cache: 'no-cache', credentials: 'omit' });
  } catch (e) {
    throw new Error(
      `could not reach ${manifestUrl} (${(e as Error).message}); the host must allow this site (CORS)`,
      { cause: e },
    );
  }
  if (!response.ok) throw new Error(`${manifestUrl} answered HTTP ${response.status}`);
  if (/text\/html/i.test(response.headers.get('content-type') ?? ''))
    throw new Error(`${manifestUrl} is a web page, not a model manifest (is this a model package address?)`);
  let json: unknown;
  try {
    json = JSON.parse(await readCapped(response, MAX_MANIFEST_BYTES));
  } catch (e) {
    throw new Error(
      e instanceof SyntaxError ? `${manifestUrl} is not a JSON manifest` : (e as Error).message,
      { cause: e },
    );
  }
  try {
    return downloadSizes(validateManifest(json));
  } catch (e) {
    throw new Error(`its manifest is not valid (${(e as Error).message})`, { cause: e });
  }
}

export function modelLinkActions(set: SetState, get: GetState, _deps: StoreDeps) {
  return {
    /** Asks before loading a package from another site; reads its manifest to show the size. */
    async offerForeignModel(url: string, host: string): Promise<void> {
      set({ foreignModel: { url, host, sizes: null, problem: null } });
      let offer: ForeignModelOffer;
      try {
        offer = { url, host, sizes: await previewPackage(url), problem: null };
      } catch (e) {
        offer = { url, host, sizes: null, problem: (e as Error).message };
      }
      if (get().foreignModel?.url === url) set({ foreignModel: offer });
    },

    /** The person said yes: load it (it becomes the chosen model like any other). */
    acceptForeignModel(): void {
      const offer = get().foreignModel;
      if (!offer?.sizes) return;
      set({ foreignModel: null });
      get().actions.chooseModel(offer.url);
    },

    declineForeignModel(): void {
      set({ foreignModel: null });
    },
  };
}
