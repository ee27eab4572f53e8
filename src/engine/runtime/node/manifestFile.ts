/**
 * Reads a package's manifest.json from disk through the engine's manifest rules: the one way node
 * code (CLI, benchmarks, e2e specs, full-size scripts) reads a manifest outside the opener. The
 * file is stat'ed first (a larger one than the cap is not read at all); a web page, broken JSON or
 * a manifest that fails the schema gets the same one-line message as from any package source.
 */
import { manifestFromBytes, tooLargeManifest } from '../../manifest';
import type { Manifest } from '../../manifest';
import { folderManifest } from './modelPackage';

/** The validated manifest of the package folder `dir`. */
export function readManifest(dir: string): Manifest {
  const raw = folderManifest(dir);
  if (!raw.body) throw tooLargeManifest(raw.where, raw.size ?? 0);
  return manifestFromBytes(raw.body as Uint8Array, raw.where).manifest;
}
