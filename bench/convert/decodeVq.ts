/**
 * The converter's codebook VQ decode alone, as `npm run convert` runs it on node (vqDecode.ts):
 * the first `--grids` codebook mosaics of a package's `vq_decode` decoded, each timed (wall and
 * this process's CPU) with the resident memory after it, and their patch colours compared with the
 * package's `codebook_colors`. Run it under GNU time for the peak RSS:
 *
 *   nice -n 10 /usr/bin/time -v npx tsx bench/convert/decodeVq.ts --package DIR [--dtype q4]
 *     [--grids N] [--whole]
 *
 * `--whole` runs the graph as one session (no stages), as the converter did before.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { codebookMosaics, patchMeans } from '../../src/engine/internal';
import { openVqDecoder } from '../../src/engine/runtime/node/internal';

const { values } = parseArgs({
  options: {
    package: { type: 'string' },
    dtype: { type: 'string' },
    grids: { type: 'string', default: '2' },
    whole: { type: 'boolean', default: false },
  },
});
if (!values.package) throw new Error('--package DIR is required');
const manifest = JSON.parse(readFileSync(join(values.package, 'manifest.json'), 'utf8')) as {
  dtypes: Record<string, { graphs: { vq_decode: { file: string } } }>;
  config: {
    codebook_size: number;
    resolution: number;
    resolutions: Record<string, { token_grid: [number, number] }>;
  };
  codebook_colors: number[][];
};
const dtype = values.dtype ?? Object.keys(manifest.dtypes)[0]!;
const graph = join(values.package, manifest.dtypes[dtype]!.graphs.vq_decode.file);
const grid = manifest.config.resolutions[String(manifest.config.resolution)]!.token_grid;
const mosaics = codebookMosaics(manifest.config.codebook_size, grid);
const mib = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
/** this process's peak RSS so far (VmHWM), MiB */
const peakMib = () =>
  (Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024).toFixed(0);

const decoder = await openVqDecoder(graph, { staged: !values.whole });
console.log(
  decoder.stages
    ? `two stages, cut at ${decoder.stages.cut}: ${decoder.stages.weightBytes.map((b) => (b / 2 ** 20).toFixed(1)).join(' and ')} MiB of weights`
    : 'one session',
);
const [h, w] = grid;
const perGrid = (Math.floor(h / 2) * Math.floor(w / 2)) | 0;
let worst = 0;
for (let m = 0; m < Math.min(Number(values.grids), mosaics.count); m++) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const out = await decoder.decode({
    ids: { type: 'int32', data: mosaics.ids.slice(m * h * w, (m + 1) * h * w), dims: [1, h, w] },
  });
  const used = process.cpuUsage(cpu);
  const pixels = out['pixels']!;
  if (pixels.type !== 'float32') throw new Error(`${graph} gave ${pixels.type} pixels`);
  const means = patchMeans(pixels.data, 1, pixels.dims[2]!, pixels.dims[3]!, grid);
  means.forEach((rgb, i) => {
    const want = manifest.codebook_colors[m * perGrid + i];
    if (want) rgb.forEach((v, c) => (worst = Math.max(worst, Math.abs(Number(v.toFixed(6)) - want[c]!))));
  });
  console.log(
    `grid ${m + 1}: ${((performance.now() - started) / 1000).toFixed(1)} s wall, ${((used.user + used.system) / 1e6).toFixed(1)} s CPU, rss ${mib()} MiB, peak so far ${peakMib()} MiB`,
  );
}
await decoder.release();
console.log(`peak RSS ${peakMib()} MiB`);
console.log(`largest difference from the manifest's codebook_colors: ${worst.toExponential(2)}`);
