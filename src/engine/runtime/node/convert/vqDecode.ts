/**
 * The converter's VQ decode on onnxruntime-node, the conversion's largest memory. Sessions have
 * no memory pool (a pool kept each 512 px decode's largest tensors and grew run after run) and no
 * blocked convolution layout (about 230 MB of reordered activations for 15 % of the decode's
 * time). The graph runs in two stages (`graphStages.ts`), each session made and released for
 * each grid: the first holds nearly all the weights (the low-resolution layers), the second the
 * largest activations (the 512 px layers), and the two are never held together. The second
 * stage's weights (6.3 MiB of the VQ-GAN's 334) are carried inside its graph. Measured on the
 * real VQ-GAN at 512 px (bench/convert/decodeVq.ts): one decode's peak RSS 826 MiB instead of
 * 1,087 MiB, the same CPU time and the same pixels.
 */
import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { inlineExternalData, splitGraph } from '../../../convert/graphStages';
import type { GraphStages } from '../../../convert/graphStages';
import type { Feeds, Outputs } from '../../../ports';
import { OrtNodeRunner } from '../ortNodeRunner';
import type { NodeGraphBytes } from '../ortNodeRunner';

export interface VqDecoder {
  /** the stages the graph runs in; null when it has no cut and runs whole */
  readonly stages: GraphStages | null;
  decode(feeds: Feeds, signal?: AbortSignal): Promise<Outputs>;
  release(): Promise<void>;
}

/** The decoder of the `vq_decode` graph at `path` (its external data beside it). */
export async function openVqDecoder(path: string, options: { staged?: boolean } = {}): Promise<VqDecoder> {
  const stages = options.staged === false ? null : splitGraph(new Uint8Array(await readFile(path)), path);
  const runnerOf = (file: string | NodeGraphBytes) =>
    new OrtNodeRunner({ files: { vq_decode: file }, memoryArena: false, blockedLayout: false });
  if (!stages) {
    const whole = runnerOf(path);
    return {
      stages,
      decode: (feeds, signal) => whole.run('vq_decode', feeds, signal),
      release: () => whole.release(),
    };
  }
  const folder = dirname(path);
  // the second stage's few weights go inside its graph, so its session opens no data file
  const second = await inlineExternalData(stages.second, path, async (location, offset, length) => {
    const file = await open(join(folder, location), 'r');
    try {
      const out = new Uint8Array(length);
      const { bytesRead } = await file.read(out, 0, length, offset);
      return out.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  });
  const run = async (bytes: Uint8Array, feeds: Feeds, signal?: AbortSignal) => {
    const runner = runnerOf({ bytes, folder });
    try {
      return await runner.run('vq_decode', feeds, signal);
    } finally {
      await runner.release();
    }
  };
  return {
    stages,
    decode: async (feeds, signal) => run(second, await run(stages.first, feeds, signal), signal),
    release: async () => undefined,
  };
}
