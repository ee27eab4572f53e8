/**
 * @editmgt/engine — EditMGT instruction-based image editing, in plain TypeScript.
 *
 * The public surface: the one-call `Editor`, the edit loop, its settings and errors, model packages
 * (manifest types and validation, the opener), and the ports a host implements (graph runner,
 * tokenizer, randomness, file source). `@editmgt/engine/node` and `@editmgt/engine/web` add the
 * runtimes and `EditMGT.fromPretrained` bound to them. Anything
 * not exported here is internal and may change without notice; `api-report.md` beside this file
 * lists the surface and a test fails when it changes unintentionally.
 */
export { EditEngine } from './pipeline';
export type {
  EditCallbacks,
  EditReplay,
  EditRequest,
  EditResult,
  EngineOptions,
  MemoryPolicy,
  StepEvent,
} from './pipeline';
export {
  checkEditSetting,
  clampEditSetting,
  describeRange,
  EDIT_SETTING_NAMES,
  EDIT_SETTINGS,
  fallbackEditOptions,
  NUMBER_SETTINGS,
} from './editSettings';
export type {
  EditOptionValues,
  EditSettingName,
  NumberSetting,
  NumberSettingName,
  SwitchSetting,
  TextSetting,
} from './editSettings';
export { EDIT_ERROR_CODES, EditError, MAX_INPUT_PIXELS } from './errors';
export { checkInstruction, instructionProblem } from './validate';
export type { EditErrorCode } from './errors';
export {
  defaultHold,
  DTYPES,
  GRAPH_NAMES,
  MAX_MANIFEST_BYTES,
  MAX_PACKAGE_FILE_BYTES,
  NotAManifestError,
  packageEditOptions,
  packageFiles,
  parseRawManifest,
  specFromManifest,
  validateManifest,
} from './manifest';
export {
  chooseDtype,
  GpuLimitError,
  MEMORY_PHASED_BYTES,
  MEMORY_TIGHT_BYTES,
  memoryPolicy,
  packageTokenizer,
  webGpuBufferNeed,
} from './package';
export type {
  Device,
  FileSource,
  GpuBufferLimits,
  GraphFiles,
  GraphRuntime,
  OpenedPackage,
  OpenOptions,
  PackageRunner,
} from './package';
export type {
  ByteStream,
  Dtype,
  Manifest,
  ManifestFile,
  RawManifest,
  TensorDesc,
  TokenizerEntry,
} from './manifest';
export type { ModelSpec } from './modelSpec';
export type { Encoding, Feeds, GraphName, GraphRunner, Outputs, Rng, StepUniforms, Tokenizer } from './ports';
export type { AnyTensor, TensorType } from './tensor';
export { seededRng, replayRng } from './rng';
export { hfTokenizer } from './hfTokenizer';
export type { BpeEncoder, TokenizerFiles } from './hfTokenizer';
export type { RgbaImage } from './image';
export { psnr } from './metrics';
export { Editor } from './editor';
export type { EditOptions, LoadProgress, PretrainedOptions } from './editor';
export type { Backend, BackendChoice, BackendInfo, RuntimeBuild } from './backendInfo';
