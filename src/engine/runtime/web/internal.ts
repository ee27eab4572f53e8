/**
 * `@editmgt/engine/web/internal`: what this repository's engine worker uses of the engine on
 * onnxruntime-web beyond the public API: runtime options, the device-loss watch, the watchdog's
 * hook, the step graph's options, and the diagnostics' graph runs, placement checks and faults.
 * No compatibility promise.
 */
export {
  armStall,
  createSession,
  loadRuntime,
  loseDevice,
  nodePlacement,
  runOnce,
  setRuntimeOptions,
  setWatcher,
  watchDeviceLoss,
} from './ort';
export type { WatchedWork, Watcher } from './ort';
export { webGpuStepOptions } from './ortWebRunner';
export { hubHeaders, webHubSource } from './hubSource';
export type { HubAuthHeader, WebHubOptions } from './hubSource';
