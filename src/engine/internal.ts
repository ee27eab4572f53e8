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
// the converter core (src/engine/convert): the worker converts a checkpoint in the tab
export { CheckpointError, checkRange, readText } from './convert/byteSource';
export type { ByteSource, CheckpointSource } from './convert/byteSource';
export { openCheckpoint } from './convert/checkpoint';
export type { Checkpoint } from './convert/checkpoint';
export { checkConfig, convertPackage, CONVERTER_TOOL } from './convert/convertPackage';
export { chooseTemplates } from './convert/templateChoice';
export { packagePaths, templateGraphs } from './convert/templateFiles';
export type { CarriedFile, TemplateGraph } from './convert/templateFiles';
export type { TemplateCandidate, TemplateChoice, TemplateFit, TemplateWants } from './convert/templateChoice';
export type { ConvertOptions, ConvertResult, DecodeVq } from './convert/convertPackage';
export { readWeightMap } from './convert/applyWeightMap';
export { codebookMosaics, patchMeans } from './convert/codebookColors';
export { inlineExternalData, splitGraph, splitStages } from './convert/graphStages';
export type { GraphStages } from './convert/graphStages';
export type { PackageWriter } from './convert/applyWeightMap';
export { field, parsePyJson, plain } from './convert/pyJson';
// the encoders, for the quantiser benchmark (bench/node/quantize.ts)
export { createStreamDigest } from './convert/digest';
export { encodeFloat16 } from './convert/quantizeFloat16';
export { encodeInt8Rows, encodeQ8, maxAbs, q8Scale } from './convert/quantizeInt8';
export { createQ4RowEncoder, encodeQ4Columns } from './convert/quantizeQ4';
// the Hugging Face Hub (`hf:owner/repo[@revision]`): the app reads a repository's size and kind before a download
export { DEFAULT_HUB_ENDPOINT, HubError, hubSpecText, isHubSpec, parseHubSpec } from './hub/hubRules';
export type { HubSpec } from './hub/hubRules';
export { FIELD_TOKEN, hubRepoKind, openHubRepo } from './hub/hubRepo';
export type { HubFetch, HubRepo, HubRepoKind, HubRepoOptions } from './hub/hubRepo';
