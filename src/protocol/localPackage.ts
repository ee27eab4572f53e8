/**
 * A package opened from a folder on disk has no URL: it lives only in the model store. Its key
 * stands where a package URL would (the saved model choice, the store's folder for it):
 * `local:///<folder name>/<sha256 of its manifest>/`, so the same folder with the same manifest
 * is one package, and a changed manifest is another.
 */
const PREFIX = 'local:///';

/** The most files a folder may hold to be read as a package (refused before any is read). */
export const MAX_FOLDER_FILES = 2000;

export function localPackageUrl(name: string, manifestSha256: string): string {
  return `${PREFIX}${encodeURIComponent(name)}/${manifestSha256}/`;
}

export function isLocalPackageUrl(url: string): boolean {
  return url.startsWith(PREFIX);
}

/** The folder name a local package key was made from; null for any other URL. */
export function localPackageName(url: string): string | null {
  if (!isLocalPackageUrl(url)) return null;
  const name = url.slice(PREFIX.length).split('/')[0];
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}
