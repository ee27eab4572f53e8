/** Paths shared by the node tests (the tiny model the exporter ships, its goldens). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../../../', import.meta.url));
export const TINY = fileURLToPath(new URL('../../../../../public/models/tiny-random', import.meta.url));
export const GOLDENS = fileURLToPath(
  new URL('../../../../../tools/export/goldens/tiny-random', import.meta.url),
);
export const hasTiny = existsSync(`${TINY}/manifest.json`);
export const hasGoldens = existsSync(`${GOLDENS}/index.json`);
