/**
 * A GraphRunner decorator that timestamps every run (performance.now), so the benchmark can split
 * an edit into graph time and engine time without touching the runner it wraps.
 */
import type { Feeds, GraphName, GraphRunner, Outputs } from '../../src/engine/index';

export interface RunRecord {
  graph: GraphName;
  start: number;
  end: number;
  /** Bytes of the outputs (what the engine reads back). */
  bytes: number;
  /** The wrapped runner's own time for this run (session.run alone), when it reports one. */
  innerMs?: number;
}

export class TimedRunner implements GraphRunner {
  readonly log: RunRecord[] = [];

  /** `innerMs` reads the wrapped runner's own last-run time (OrtNodeRunner.lastRunMs). */
  constructor(
    private readonly inner: GraphRunner,
    private readonly innerMs?: (graph: GraphName) => number | undefined,
  ) {}

  async run(graph: GraphName, feeds: Feeds, signal?: AbortSignal): Promise<Outputs> {
    const start = performance.now();
    const out = await this.inner.run(graph, feeds, signal);
    const end = performance.now();
    let bytes = 0;
    for (const t of Object.values(out)) bytes += t.data.byteLength;
    this.log.push({ graph, start, end, bytes, innerMs: this.innerMs?.(graph) });
    return out;
  }

  /** Time the first run of each graph spent outside the session's run: session creation. */
  firstRunSetupMs(): number {
    let total = 0;
    for (const graph of new Set(this.log.map((r) => r.graph))) {
      const first = this.runs(graph)[0]!;
      total += first.end - first.start - (first.innerMs ?? 0);
    }
    return total;
  }

  runs(graph: GraphName): RunRecord[] {
    return this.log.filter((r) => r.graph === graph);
  }

  release(): Promise<void> {
    return this.inner.release?.() ?? Promise.resolve();
  }

  /** Passed on, so the engine's memory policy frees graphs through the timed runner too. */
  releaseGraph(graph: GraphName): Promise<void> {
    return this.inner.releaseGraph?.(graph) ?? Promise.resolve();
  }
}
