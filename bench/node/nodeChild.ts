/**
 * One node benchmark case in its own process (so its peak memory is its own):
 *   tsx bench/node/nodeChild.ts '<NodeBenchOptions JSON>'   prints the BenchRun as JSON.
 */
import { benchNode } from './node';
import type { NodeBenchOptions } from './node';

const options = JSON.parse(process.argv[2] ?? '{}') as NodeBenchOptions;
process.stdout.write(`${JSON.stringify(await benchNode(options))}\n`);
