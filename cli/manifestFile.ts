/**
 * Reads a package's manifest.json from disk through the engine's validation: the one way node
 * code (CLI, benchmarks, e2e specs, full-size scripts) reads a manifest.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EditError } from '../src/engine/errors';
import { validateManifest } from '../src/engine/manifest';
import type { Manifest } from '../src/engine/manifest';

/** Far above any real manifest (the full-size one is ~300 KB); a larger file is not read at all. */
export const MAX_MANIFEST_BYTES = 16 << 20;

/** Parses and validates manifest text; `where` names it in messages. */
export function parseManifest(text: string, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new EditError('bad-manifest', `${where} is not JSON (${(err as Error).message})`);
  }
  return validateManifest(json);
}

/** The validated manifest of the package folder `dir`. */
export function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new EditError('bad-manifest', `no manifest.json in ${dir}`);
  const size = statSync(path).size;
  if (size > MAX_MANIFEST_BYTES)
    throw new EditError(
      'bad-manifest',
      `${path} has ${size} bytes; a manifest is at most ${MAX_MANIFEST_BYTES}`,
    );
  return parseManifest(readFileSync(path, 'utf8'), path);
}
