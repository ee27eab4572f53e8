/**
 * The model's domain as the editor shows it: what the model was trained on, whether other images
 * fail, and example images with their address and checksum (so an image can be recognised as one
 * of them). Examples the manifest does not list in `files` are left out.
 */
import type { Manifest } from './manifest';

export interface ModelDomain {
  description: string;
  narrow: boolean;
  /** What to expect from an image outside the domain; null when the package does not say. */
  outside: string | null;
  examples: { url: string; sha256: string; instruction: string | null }[];
}

/** @param resolve turns a package-relative path into the address to fetch it from */
export function modelDomain(m: Manifest, resolve: (path: string) => string): ModelDomain | null {
  const d = m.domain;
  if (!d) return null;
  const files = new Map(m.files.map((f) => [f.path, f]));
  const examples = (d.examples ?? []).flatMap((e) => {
    const f = files.get(e.path);
    return f ? [{ url: resolve(e.path), sha256: f.sha256, instruction: e.instruction ?? null }] : [];
  });
  return { description: d.description, narrow: d.narrow === true, outside: d.outside ?? null, examples };
}
