/**
 * The WebGPU adapter and device the runtime computes on, requested here rather than by the
 * runtime, so that the adapter whose features choose the dtype (shader-f16) and whose limits
 * decide whether a package fits is the very one the sessions run on: a high-performance adapter,
 * with a device that asks for the adapter's full buffer and compute limits.
 */

import type { GpuBufferLimits } from '../../package';

// the buffer rule is the opener's (package.ts), the same for every host; these names stay here too
export { checkBufferLimits, GpuLimitError } from '../../package';
export type { GpuBufferLimits } from '../../package';

/** Limits the runtime's kernels use, requested at the adapter's maximum (as the runtime itself does). */
const LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;

let adapterRequest: Promise<GPUAdapter | null> | null = null;
let deviceRequest: Promise<GPUDevice> | null = null;

/** The high-performance adapter (one request per worker). */
export function gpuAdapter(): Promise<GPUAdapter | null> {
  const gpu = self.navigator.gpu as GPU | undefined;
  if (!gpu) return Promise.resolve(null);
  adapterRequest ??= gpu.requestAdapter({ powerPreference: 'high-performance' }).catch((err: unknown) => {
    adapterRequest = null;
    throw err;
  });
  return adapterRequest;
}

/** The device every WebGPU session of this worker runs on. */
export function gpuDevice(): Promise<GPUDevice> {
  deviceRequest ??= (async () => {
    const adapter = await gpuAdapter();
    if (!adapter) throw new Error('no WebGPU adapter is available');
    const requiredLimits: Record<string, number> = {};
    for (const name of LIMITS) requiredLimits[name] = adapter.limits[name];
    return adapter.requestDevice({
      requiredFeatures: [...adapter.features] as GPUFeatureName[],
      requiredLimits,
    });
  })().catch((err: unknown) => {
    deviceRequest = null;
    throw err;
  });
  return deviceRequest;
}

/** The adapter's buffer limits (what a device from it can be given). */
export function bufferLimits(adapter: GPUAdapter): GpuBufferLimits {
  return {
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}
