/**
 * Reads a package's manifest.json from disk through the engine's validation: the one way node
 * code (CLI, benchmarks, e2e specs, full-size scripts) reads a manifest. The read is size-capped
 * (a larger file is not read at all) and a web page or broken JSON gets a one-line message.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EditError } from '../../errors';
import { validateManifest } from '../../manifest';
import type { Manifest } from '../../manifest';
import { MAX_MANIFEST_BYTES, parseManifestJson, readLocalFile } from './localFiles';

/** The validated manifest of the package folder `dir`. */
export function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new EditError('bad-manifest', `no manifest.json in ${dir}`);
  return validateManifest(parseManifestJson(readLocalFile(path, MAX_MANIFEST_BYTES, 'manifest'), path));
}
