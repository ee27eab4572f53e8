/**
 * Which model packages the app ships, and which one it loads by default. The list is fixed at
 * build time from the manifests under public/models/ (only their paths are used, never content).
 */
const manifests = import.meta.glob('/public/models/*/manifest.json', { query: '?url', import: 'default' });

const shipped = Object.keys(manifests)
  .map((path) => path.split('/').at(-2) ?? '')
  .filter(Boolean);

export const DEFAULT_MODEL_NAME = shipped.includes('shapes') ? 'shapes' : 'tiny-random';

/** Names of the bundled packages, e.g. ["shapes", "tiny-random"] (the default always listed). */
export const BUNDLED_MODELS: readonly string[] = [...new Set([...shipped, DEFAULT_MODEL_NAME])].sort();

export function bundledModelUrl(name: string): string {
  return `${import.meta.env.BASE_URL}models/${name}/`;
}

/** The one place the default model is chosen. */
export const DEFAULT_MODEL_URL = bundledModelUrl(DEFAULT_MODEL_NAME);
