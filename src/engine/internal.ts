/**
 * `@editmgt/engine/internal`: what this repository's own hosts (the worker, the CLI, benchmarks,
 * tests) use beyond the public API: building blocks the public entries keep to themselves, checks
 * the hosts share with the engine, runtime options and test helpers. No compatibility promise.
 * Runs anywhere: nothing here imports a runtime (node-only helpers are in `/node/internal`, the web runtime's in `/web/internal`).
 */
export { MEMORY_POLICIES } from './pipeline';
export { modelDomain } from './domain';
export type { ModelDomain } from './domain';
export { responseManifest } from './manifest';
export { tooLargeMessage } from './errors';
export { applyExifOrientation, cellMaskToPixels, compositeUnchanged, maskToGrid, resizeImage } from './image';
export type { CompositeInput } from './image';
export { readJpegStructure, readPngStructure } from './imageStructure';
export type { ImageStructure, ReadBytes } from './imageStructure';
export { checkPackageSource, maskSizeProblem } from './validate';
export { dtypePreference } from './package';
export { buildOption, runtimeOptions } from './runtimeOptions';
export type { RuntimeOptions } from './runtimeOptions';
export { withJpegMetadata, withTrailer } from './testing/imageVariants';
