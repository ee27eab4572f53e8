/**
 * A model package named by a link on another site is not downloaded at once. The person first
 * sees its host, with nothing fetched from it; only when they ask for its size is its manifest
 * read (so that host learns of the visit then, and the prompt says so), and only their yes to that
 * size downloads it. Until then (and after a "no") the model already chosen stays loaded.
 *
 * A hub link (`hf:owner/repo[@revision]`, in `?model=` or typed into the model field) is offered
 * the same way: the hub is the other host; asking for the size pins the revision to a commit,
 * lists the repository and reads its manifest, and the prompt shows the repository, the commit and
 * the size. A gated repository's refusal shows how to get access and a token field: the token is
 * held here, in memory, for that repository's offer and download only (never in the store's
 * state, settings, a URL or a message), and sent to the hub's origin only.
 *
 * At start the linked model (when it may load at once), else the saved choice, else the bundled
 * default is opened, each only when the one before failed: a link or saved choice that fails is
 * not kept, and a notice says what was loaded instead.
 */
import { parseRawManifest } from '../../engine/index';
import { HubError, isHubSpec, openHubRepo, responseManifest } from '../../engine/internal';
import type { HubFetch, HubRepoKind } from '../../engine/internal';
import { checkHubLink, downloadSizes } from '../lib/modelUrl';
import type { AppError } from '../lib/errors';
import type { GetState, SetState, StoreDeps } from './store';

/** What the prompt knows of a hub repository. */
export interface HubOffer {
  repo: string;
  /** the revision the link named (`main`, a tag, a commit) */
  revision: string;
  /** the hub's address (https://huggingface.co) */
  endpoint: string;
  /** the commit the revision names, once the hub was asked */
  commit: string | null;
  /** what the repository holds, once listed */
  kind: HubRepoKind | null;
  /** the hub refused access (gated or private): the prompt shows how to get it, and the token field */
  needsToken: boolean;
  /** a token is held for this offer (the token itself is not in the state) */
  tokenGiven: boolean;
  /** a checkpoint: the bytes of its files (what converting it downloads at most) */
  checkpointBytes: number | null;
}

export interface ForeignModelOffer {
  /** The package's address (for a hub repository: its `/resolve/<commit>/` folder once known, else the `hf:` text). */
  url: string;
  host: string;
  /** The person asked for the size, so the host has been contacted (its manifest requested). */
  contacted: boolean;
  /** Download size per precision once the manifest is read; null before, while reading or when it failed. */
  sizes: { dtype: string; bytes: number }[] | null;
  /** Why the package cannot be offered (unreachable, not a manifest); null when it can. */
  problem: string | null;
  /** A hub repository (`hf:`); null for a package URL. */
  hub: HubOffer | null;
}

/** The manifest's cap, as the engine reads it (the engine checks it again). */
const MANIFEST_READ_CAP = 16 << 20;

/** The window's fetch, as the hub reader takes it. */
const windowFetch: HubFetch = (url, init) => fetch(url, init);

/**
 * A hub repository's sizes: the revision pinned to a commit, the files listed, the manifest read
 * (the engine's rules). Returns the package's `/resolve/<commit>/` folder with the sizes.
 */
async function previewHubPackage(hub: HubOffer, token: string | null) {
  const repo = await openHubRepo(
    { repo: hub.repo, revision: hub.revision },
    { endpoint: hub.endpoint, token: token ?? undefined, fetch: windowFetch, maxTries: 4 },
  );
  let checkpointBytes = 0;
  for (const bytes of repo.sizes.values()) checkpointBytes += bytes;
  const found = { commit: repo.commit, kind: repo.kind, url: repo.base, checkpointBytes };
  if (repo.kind === 'checkpoint') {
    // one small file read now, so that a gated repository asks for its token before the conversion's offer
    const probe = repo.sizes.has('model_index.json')
      ? 'model_index.json'
      : [...repo.sizes.keys()].find((f) => f.endsWith('.json'));
    if (probe) await repo.readFile(probe, MANIFEST_READ_CAP);
  }
  if (repo.kind !== 'package') return { ...found, sizes: null };
  const body = await repo.readFile('manifest.json', MANIFEST_READ_CAP);
  const { manifest } = await parseRawManifest({
    where: `${repo.name}/manifest.json`,
    size: body.byteLength,
    body,
  });
  return { ...found, sizes: downloadSizes(manifest) };
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
  /** The token for the hub offer on screen, and for its download; never in the state. */
  let hubToken: string | null = null;

  /** The hub offer for `hf:` text, nothing asked of the hub yet; null (with an error shown) when the text is wrong. */
  const hubOffer = (text: string): ForeignModelOffer | null => {
    const checked = checkHubLink(text, location.href);
    if (!checked.ok || !('hub' in checked)) {
      set({ error: { source: 'model', message: checked.ok ? text : checked.message } });
      return null;
    }
    const { repo, revision, endpoint } = checked.hub;
    return {
      url: checked.url,
      host: checked.foreignHost,
      contacted: false,
      sizes: null,
      problem: null,
      hub: {
        repo,
        revision,
        endpoint,
        commit: null,
        kind: null,
        needsToken: false,
        tokenGiven: false,
        checkpointBytes: null,
      },
    };
  };

  const actions = {
    /** Asks before anything is fetched from a package on another site; the model in use stays. */
    offerForeignModel(url: string, host: string): void {
      hubToken = null;
      if (isHubSpec(url)) {
        const offer = hubOffer(url);
        if (offer) set({ foreignModel: offer });
        return;
      }
      set({ foreignModel: { url, host, contacted: false, sizes: null, problem: null, hub: null } });
    },

    /**
     * `hf:owner/repo[@revision]` typed into the model field: the person asked for it, so the hub is
     * asked for its size at once; it loads on their yes to that size.
     */
    offerHubModel(text: string): void {
      hubToken = null;
      const offer = hubOffer(text);
      if (!offer) return;
      set({ foreignModel: offer });
      void actions.checkForeignModel();
    },

    /** The person asked for the size: reads the package's manifest from its host (and only that). */
    async checkForeignModel(): Promise<void> {
      const asked = get().foreignModel;
      if (!asked || asked.contacted) return;
      const { url, host, hub } = asked;
      set({ foreignModel: { ...asked, contacted: true } });
      let offer: ForeignModelOffer;
      if (hub) {
        try {
          const found = await previewHubPackage(hub, hubToken);
          const problem =
            found.kind === 'unknown'
              ? `hf:${hub.repo} holds neither a model package (no manifest.json at its root) nor an EditMGT checkpoint (its subfolders editmgt or transformer, vqvae, text_encoder, llm_encoder, tokenizer, scheduler)`
              : null;
          offer = {
            ...asked,
            url: found.url,
            contacted: true,
            sizes: found.sizes,
            problem,
            hub: {
              ...hub,
              commit: found.commit,
              kind: found.kind,
              needsToken: false,
              checkpointBytes: found.kind === 'checkpoint' ? found.checkpointBytes : null,
            },
          };
        } catch (e) {
          const refused = e instanceof HubError && (e.status === 401 || e.status === 403);
          offer = {
            ...asked,
            contacted: true,
            sizes: null,
            problem: (e as Error).message.replace(/\.$/, ''),
            hub: { ...hub, needsToken: refused || hub.needsToken },
          };
        }
      } else {
        try {
          offer = { url, host, contacted: true, sizes: await previewPackage(url), problem: null, hub: null };
        } catch (e) {
          offer = { url, host, contacted: true, sizes: null, problem: (e as Error).message, hub: null };
        }
      }
      if (get().foreignModel?.url === url) set({ foreignModel: offer });
    },

    /**
     * A token for the gated hub repository on offer: held in memory for this offer and its
     * download only, and the hub asked again with it.
     */
    async giveHubToken(token: string): Promise<void> {
      const offer = get().foreignModel;
      if (!offer?.hub) return;
      hubToken = token.trim() || null;
      const hf = `hf:${offer.hub.repo}@${offer.hub.revision}`;
      set({
        foreignModel: {
          ...offer,
          url: hf,
          contacted: false,
          sizes: null,
          problem: null,
          hub: { ...offer.hub, tokenGiven: hubToken !== null },
        },
      });
      await actions.checkForeignModel();
    },

    /** The person said yes to the size shown: load it (it becomes the chosen model like any other). */
    async acceptForeignModel(): Promise<void> {
      const offer = get().foreignModel;
      if (!offer?.sizes) return;
      set({ foreignModel: null });
      const { hub, url } = offer;
      const token = hub ? hubToken : null;
      hubToken = null;
      if (!hub) return get().actions.chooseModel(url);
      await get().actions.loadModel(url, token ? { origin: new URL(hub.endpoint).origin, token } : undefined);
      // the hub refused a file it had let the prompt read: the token was revoked, or access withdrawn
      const s = get();
      const refused = s.error?.source === 'model' && /\bHTTP (401|403)\b/.exec(s.error.message);
      if (!refused || !s.error!.message.includes(url)) return;
      const tokens = `${new URL(hub.endpoint).origin}/settings/tokens`;
      const why = token
        ? `the token given may have been revoked or have expired, or its access to the repository was withdrawn. Create a read token at ${tokens} and open hf:${hub.repo} again`
        : `the repository may have become gated or private. Open hf:${hub.repo} again to give a token`;
      const kept = s.modelStatus === 'ready' && s.model ? ` ${s.model.name} is still loaded and ready.` : '';
      set({
        error: {
          ...s.error!,
          message: `The hub refused the download of hf:${hub.repo} (HTTP ${refused[1]}): ${why}.${kept}`,
        },
      });
    },

    /**
     * The person chose to convert the hub checkpoint on offer: the conversion's own offer follows
     * (model, package size, space needed), its files read by range from the hub in the worker.
     * The token, if one was given, goes with that conversion only.
     */
    convertHubCheckpoint(): void {
      const offer = get().foreignModel;
      const hub = offer?.hub;
      if (!hub || hub.kind !== 'checkpoint' || !hub.commit) return;
      const token = hubToken;
      hubToken = null;
      set({ foreignModel: null });
      const name = hub.repo.split('/')[1]!;
      void get().actions.offerConversion(
        { name, files: [], overLimit: false },
        { kind: 'hub', name, repo: hub.repo, commit: hub.commit, endpoint: hub.endpoint },
        token ? { origin: new URL(hub.endpoint).origin, token } : undefined,
      );
    },

    declineForeignModel(): void {
      hubToken = null;
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
  return actions;
}

/**
 * A load failure that another package may not meet: the package's, its host's, or its fit to this
 * backend; not a lost GPU or a cancelled load.
 */
function fallsBack(error: AppError): boolean {
  return error.source === 'model' && error.code !== 'device-lost' && error.code !== 'cancelled';
}
