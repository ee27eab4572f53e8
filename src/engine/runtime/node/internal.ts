/**
 * `@editmgt/engine/node/internal`: node-only helpers this repository's own hosts (the CLI,
 * benchmarks, tests) share with the engine on onnxruntime-node: local file reads and atomic
 * writes, and where the repository's test package lies. No compatibility promise.
 */
export { formatBytes, readLocalFile, ReadError, writeFileAtomic } from './localFiles';
export { GOLDENS, hasGoldens, hasTiny, REPO, TINY } from './testing/testModel';
export { startHubServer } from './convert/testing/hubServer';
export type { HubFault, HubServer, HubServerOptions, RecordedRequest } from './convert/testing/hubServer';
export { convertFolder, findTemplates } from './convert/convertFolder';
export { openVqDecoder } from './convert/vqDecode';
