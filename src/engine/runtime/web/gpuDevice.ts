/**
 * The WebGPU adapter and device the runtime computes on, requested here rather than by the
 * runtime, so that the adapter whose features choose the dtype (shader-f16) and whose limits
 * decide whether a package fits is the very one the sessions run on: a high-performance adapter,
 * with a device that asks for the adapter's full buffer and compute limits.
 */

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

export interface GpuBufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

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

/** The package needs a buffer or binding larger than the GPU allows. */
export class GpuLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuLimitError';
  }
}

const mb = (n: number) => `${Math.round(n / 1e6)} MB`;

/**
 * Refuses a package whose largest buffer (`max_buffer_bytes` in its manifest) exceeds what this
 * GPU allows, saying which limit falls short and what would fit instead.
 */
export function checkBufferLimits(needBytes: number | undefined, limits: GpuBufferLimits | undefined): void {
  if (needBytes === undefined || !limits) return;
  const short: string[] = [];
  if (limits.maxBufferSize < needBytes)
    short.push(`buffers of at most ${mb(limits.maxBufferSize)} (maxBufferSize)`);
  if (limits.maxStorageBufferBindingSize < needBytes)
    short.push(
      `storage bindings of at most ${mb(limits.maxStorageBufferBindingSize)} (maxStorageBufferBindingSize)`,
    );
  if (short.length === 0) return;
  throw new GpuLimitError(
    `this model needs GPU buffers of ${mb(needBytes)}, but this GPU allows ${short.join(' and ')}. ` +
      'A package converted at a smaller resolution would fit, or choose the WASM backend in Settings',
  );
}
