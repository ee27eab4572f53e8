/**
 * Throughput of the converter's weight encoders (src/engine/convert) on one Gemma-2-2B-sized
 * matrix, 2304 × 9216 float32 (85 MB), streamed a block of rows at a time as a converter reads
 * it, never whole. Prints MB/s of float32 input per encoding (by wall time and by CPU time) and
 * the process's peak RSS.
 *
 *   npx tsx bench/node/quantize.ts [--repeat N] [--json FILE]
 *
 * The values are a deterministic LCG in [−0.1, 0.1); generating a block is not timed.
 * q4 is timed in both orders: whole output columns (rows of a torch Linear weight [N, K], here
 * N = 2304, K = 9216) and 64-row blocks of the MatMul weight B [K, N] (K = 2304, N = 9216).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  createQ4RowEncoder,
  createStreamDigest,
  encodeFloat16,
  encodeInt8Rows,
  encodeQ4Columns,
  encodeQ8,
  maxAbs,
  q8Scale,
} from '../../src/engine/internal';

const ROWS = 2304;
const COLS = 9216;
const BLOCK_ROWS = 64;

function fill(block: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < block.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    block[i] = (s / 2 ** 32 - 0.5) * 0.2;
  }
}

/** CPU seconds (user + system) spent encoding, beside wall seconds: on a shared machine the
 * CPU time is what one core takes, the wall time also counts waiting for a core. */
let cpuSeconds = 0;

/** Time `encode` over every row block of a rows × cols matrix; returns wall seconds spent encoding. */
function stream(rows: number, cols: number, encode: (block: Float32Array, row: number) => number): number {
  const buffer = new Float32Array(BLOCK_ROWS * cols);
  let seconds = 0;
  let sink = 0;
  for (let r = 0; r < rows; r += BLOCK_ROWS) {
    const block = buffer.subarray(0, Math.min(BLOCK_ROWS, rows - r) * cols);
    fill(block, r + 1);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    sink += encode(block, r);
    seconds += (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    cpuSeconds += (c.user + c.system) / 1e6;
  }
  if (sink === -1) console.log(sink); // keeps the outputs live
  return seconds;
}

const args = process.argv.slice(2);
const repeat = Number(args[args.indexOf('--repeat') + 1] ?? 0) || 3;
const jsonAt = args.indexOf('--json');
const mb = (ROWS * COLS * 4) / 1e6;

const cases: Record<string, () => number> = {
  'q4, output columns (Linear weight [2304, 9216])': () =>
    stream(ROWS, COLS, (b) => encodeQ4Columns(b, COLS, 'q4').data[0]),
  'q4, 64-row blocks of B [2304, 9216]': () => {
    const encoder = createQ4RowEncoder(ROWS, COLS, 'q4');
    return stream(ROWS, COLS, (b) => encoder.encode(b).data[0]);
  },
  'q4f16, output columns': () => stream(ROWS, COLS, (b) => encodeQ4Columns(b, COLS, 'q4f16').data[0]),
  fp16: () => stream(ROWS, COLS, (b) => encodeFloat16(b)[0]),
  'q8 (two passes)': () => {
    let absMax = 0;
    const first = stream(ROWS, COLS, (b) => (absMax = maxAbs(b, 0, b.length, absMax)));
    const scale = q8Scale(absMax);
    return first + stream(ROWS, COLS, (b) => encodeQ8(b, scale)[0]);
  },
  'int8 rows': () => stream(ROWS, COLS, (b) => encodeInt8Rows(b, COLS).values[0]),
};

interface Result {
  encoding: string;
  seconds: number[];
  cpuSeconds: number[];
  mbPerSecond: number;
  mbPerCpuSecond: number;
}
const results: Result[] = [];
for (const [name, run] of Object.entries(cases)) {
  const seconds: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeat; i++) {
    cpuSeconds = 0;
    seconds.push(run());
    cpu.push(cpuSeconds);
  }
  const best = Math.min(...seconds);
  const bestCpu = Math.min(...cpu);
  results.push({
    encoding: name,
    seconds,
    cpuSeconds: cpu,
    mbPerSecond: mb / best,
    mbPerCpuSecond: mb / bestCpu,
  });
  const wall = (mb / best).toFixed(0).padStart(5);
  const perCpu = (mb / bestCpu).toFixed(0).padStart(5);
  console.log(`${name.padEnd(48)} ${wall} MB/s wall ${perCpu} MB/s CPU  (best of ${repeat})`);
}

// sha256 of the q4 output as it is written (the manifest digest), for scale
const digest = await createStreamDigest();
const hashSeconds = stream(ROWS, COLS, (b) => {
  const { data } = encodeQ4Columns(b, COLS, 'q4');
  const t0 = performance.now();
  digest.update(data);
  return performance.now() - t0;
});
console.log(
  `q4 columns + sha256 of the output                ${(mb / hashSeconds).toFixed(0).padStart(6)} MB/s`,
);

const peakRssMiB = process.resourceUsage().maxRSS / 1024;
console.log(`matrix ${ROWS} × ${COLS} float32 (${mb.toFixed(1)} MB), blocks of ${BLOCK_ROWS} rows`);
console.log(
  `peak RSS ${peakRssMiB.toFixed(0)} MiB (node ${process.version}, ${process.arch}; load average ${loadavg()[0].toFixed(1)})`,
);
if (jsonAt >= 0)
  writeFileSync(
    args[jsonAt + 1],
    JSON.stringify(
      { rows: ROWS, cols: COLS, blockRows: BLOCK_ROWS, results, peakRssMiB, node: process.version },
      null,
      2,
    ) + '\n',
  );
