/**
 * Where a model package lives, as the app sends it to the engine, and what a package from another
 * host would download. Pure: a typed-in or linked address and the page's own URL in, a checked
 * address (or a message saying why not) out.
 */
import { DTYPES, packageFiles } from '../../engine/index';
import type { Manifest } from '../../engine/index';
import { DEFAULT_HUB_ENDPOINT, HubError, hubSpecText, isHubSpec, parseHubSpec } from '../../engine/internal';
import type { HubSpec } from '../../engine/internal';

export type ModelUrlCheck =
  | {
      ok: true;
      /** A path on this site ("/models/shapes/"), or a full URL for another host; ends in "/". */
      url: string;
      /** The host ("models.example.org:8443") when the package is on another site, else null. */
      foreignHost: string | null;
    }
  | {
      ok: true;
      /** `hf:owner/repo@revision`: a hub repository, offered (its size read from the hub) before it loads */
      url: string;
      /** the hub's host */
      foreignHost: string;
      hub: HubSpec & { endpoint: string };
    }
  | { ok: false; message: string };

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/**
 * The hub `hf:` links are read from: https://huggingface.co. A test points the page at a local
 * hub with `?hub=http://127.0.0.1:<port>`, honoured only when the page itself and that address
 * are both on this machine (loopback), so no link to a deployed page can send `hf:` requests, or
 * a token typed into the token field, to another host.
 */
export function hubEndpointFor(pageUrl: string): string {
  let page: URL;
  try {
    page = new URL(pageUrl);
  } catch {
    return DEFAULT_HUB_ENDPOINT;
  }
  const asked = page.searchParams.get('hub');
  if (!asked || !LOOPBACK.test(page.hostname)) return DEFAULT_HUB_ENDPOINT;
  try {
    const hub = new URL(asked);
    if (
      (hub.protocol === 'http:' || hub.protocol === 'https:') &&
      LOOPBACK.test(hub.hostname) &&
      !hub.username &&
      !hub.password
    )
      return hub.origin;
  } catch {
    // not an address: the real hub
  }
  return DEFAULT_HUB_ENDPOINT;
}

/** `hf:owner/repo[@revision]`, checked; the hub it is read from is `hubEndpointFor(pageUrl)`. */
export function checkHubLink(input: string, pageUrl: string): ModelUrlCheck {
  let spec: HubSpec;
  try {
    spec = parseHubSpec(input.trim());
  } catch (e) {
    return { ok: false, message: e instanceof HubError ? e.message : String(e) };
  }
  const endpoint = hubEndpointFor(pageUrl);
  return {
    ok: true,
    url: hubSpecText(spec),
    foreignHost: new URL(endpoint).host,
    hub: { ...spec, endpoint },
  };
}

/**
 * Resolves a package address against the page (so "models/x" means the site's /models/x/, not a
 * path under the engine's script folder) and refuses what the browser cannot or must not fetch.
 */
export function checkModelUrl(input: string, pageUrl: string): ModelUrlCheck {
  const text = input.trim();
  if (!text)
    return {
      ok: false,
      message: 'Give the model package’s address (the folder that holds manifest.json, or hf:owner/repo).',
    };
  if (isHubSpec(text)) return checkHubLink(text, pageUrl);
  let url: URL;
  try {
    url = new URL(text, pageUrl);
  } catch {
    return {
      ok: false,
      message: `“${clip(text)}” is not a web address. Give the model package’s folder URL, for example https://example.org/models/editmgt/.`,
    };
  }
  if (url.protocol === 'file:') {
    return {
      ok: false,
      message:
        'The browser cannot read model packages from file:// folders. Serve the folder over HTTP (for example `python3 -m http.server` inside it) and give that http:// address.',
    };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return {
      ok: false,
      message: `Model packages load over http:// or https:// only; a ${url.protocol} address is refused.`,
    };
  }
  if (url.username || url.password)
    return { ok: false, message: 'Model addresses with a user name or password in them are refused.' };
  const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  const page = new URL(pageUrl);
  if (url.origin === page.origin) return { ok: true, url: `${path}${url.search}`, foreignHost: null };
  return { ok: true, url: `${url.origin}${path}${url.search}`, foreignHost: url.host };
}

/**
 * Bytes a package would download, per precision it offers: every file the engine's opener fetches
 * for it (graphs, external data, tokenizers and the token table), each counted once.
 */
export function downloadSizes(manifest: Manifest): { dtype: string; bytes: number }[] {
  const sizes: { dtype: string; bytes: number }[] = [];
  for (const dtype of DTYPES) {
    if (!manifest.dtypes[dtype]) continue;
    const { graphs, tokenizers, tokenTable } = packageFiles(manifest, dtype);
    const all = [...tokenizers, ...Object.values(graphs).flat(), ...(tokenTable ? [tokenTable] : [])];
    const files = new Map(all.map((f) => [f.path, f.bytes]));
    let bytes = 0;
    for (const b of files.values()) bytes += b;
    sizes.push({ dtype, bytes });
  }
  return sizes;
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/**
 * The text the model field shows for a package address: `hf:owner/repo@<commit>` for a hub
 * package's `…/<owner>/<repo>/resolve/<commit>/` folder on the hub `hubEndpointFor(pageUrl)`
 * (what the person typed, pinned to the commit that loaded), else the address itself.
 */
export function modelFieldText(url: string, pageUrl: string): string {
  const endpoint = hubEndpointFor(pageUrl);
  if (!url.startsWith(`${endpoint}/`)) return url;
  const m = /^\/([A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*)\/resolve\/([0-9a-f]{40})\/$/.exec(
    url.slice(endpoint.length),
  );
  return m ? `hf:${m[1]}@${m[2]}` : url;
}
