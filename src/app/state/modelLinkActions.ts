/**
 * A model package named by a link on another site is not downloaded at once. The person first
 * sees its host, with nothing fetched from it; only when they ask for its size is its manifest
 * read (so that host learns of the visit then, and the prompt says so), and only their yes to that
 * size downloads it. Until then (and after a "no") the model already chosen stays loaded.
 *
 * At start the linked model (when it may load at once), else the saved choice, else the bundled
 * default is opened, each only when the one before failed: a link or saved choice that fails is
 * not kept, and a notice says what was loaded instead.
 */
import { parseRawManifest } from '../../engine/index';
import { responseManifest } from '../../engine/internal';
import { downloadSizes } from '../lib/modelUrl';
import type { AppError } from '../lib/errors';
import type { GetState, SetState, StoreDeps } from './store';

export interface ForeignModelOffer {
  url: string;
  host: string;
  /** The person asked for the size, so the host has been contacted (its manifest requested). */
  contacted: boolean;
  /** Download size per precision once the manifest is read; null before, while reading or when it failed. */
  sizes: { dtype: string; bytes: number }[] | null;
  /** Why the package cannot be offered (unreachable, not a manifest); null when it can. */
  problem: string | null;
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
  // the engine's manifest rules, as every package source meets them (cap, web page, JSON, schema)
  const { manifest } = await parseRawManifest(responseManifest(manifestUrl, response));
  return downloadSizes(manifest);
}

export function modelLinkActions(set: SetState, get: GetState, deps: StoreDeps) {
  return {
    /** Asks before anything is fetched from a package on another site; the model in use stays. */
    offerForeignModel(url: string, host: string): void {
      set({ foreignModel: { url, host, contacted: false, sizes: null, problem: null } });
    },

    /** The person asked for the size: reads the package's manifest from its host (and only that). */
    async checkForeignModel(): Promise<void> {
      const asked = get().foreignModel;
      if (!asked || asked.contacted) return;
      const { url, host } = asked;
      set({ foreignModel: { ...asked, contacted: true } });
      let offer: ForeignModelOffer;
      try {
        offer = { url, host, contacted: true, sizes: await previewPackage(url), problem: null };
      } catch (e) {
        offer = { url, host, contacted: true, sizes: null, problem: (e as Error).message };
      }
      if (get().foreignModel?.url === url) set({ foreignModel: offer });
    },

    /** The person said yes to the size shown: load it (it becomes the chosen model like any other). */
    acceptForeignModel(): void {
      const offer = get().foreignModel;
      if (!offer?.sizes) return;
      set({ foreignModel: null });
      get().actions.chooseModel(offer.url);
    },

    declineForeignModel(): void {
      set({ foreignModel: null });
    },

    /**
     * The first model of a visit: `linkUrl` (a checked link that may load at once), else the saved
     * choice, else the bundled default, each tried only when the one before failed for a reason of
     * the package (a backend that cannot start is no reason to try another model). Whatever loads
     * becomes the saved choice; what failed is not kept, and a notice says what is in use instead.
     */
    async openFirstModel(linkUrl: string | null): Promise<void> {
      const saved = get().settings.modelUrl;
      const tries: { url: string; what: string }[] = [];
      for (const [url, what] of [
        [linkUrl, 'The linked model'],
        [saved, 'The saved model'],
        [deps.defaultModelUrl, 'The bundled model'],
      ] as const)
        if (url && !tries.some((t) => t.url === url)) tries.push({ url, what });
      const failed: string[] = [];
      for (const { url, what } of tries) {
        await get().actions.loadModel(url);
        const s = get();
        if (s.modelStatus === 'ready' && s.model) {
          if (failed.length > 0)
            set({ notice: `${failed.join(' ')} ${s.model.name} (${url}) is loaded instead.` });
          return;
        }
        // Another load took over (the person chose a model), or the engine itself could not start.
        if (s.modelStatus !== 'failed' || !s.error || !fallsBack(s.error)) return;
        failed.push(`${what} ${url} could not be loaded (${s.error.message.replace(/\.$/, '')}).`);
      }
    },
  };
}

/**
 * A load failure that another package may not meet: the package's, its host's, or its fit to this
 * backend; not a lost GPU or a cancelled load.
 */
function fallsBack(error: AppError): boolean {
  return error.source === 'model' && error.code !== 'device-lost' && error.code !== 'cancelled';
}
