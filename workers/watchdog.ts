/**
 * The watchdog: nobody waits for ever on the runtime. Every session creation and every graph run
 * (src/engine/runtime/web/ortWebRunner.ts, through `underWatchdog` in ort.ts) is announced to the page
 * with a bound that the graph's size sets; reading a range of its weights counts as progress and
 * renews the bound. The page enforces it (src/protocol/engineClient.ts): with no newer word from
 * the worker within the bound it terminates the worker, answers every request in flight with
 * `stalled` and starts a fresh one. The page does it, not the worker, because a hung WASM call
 * cannot be interrupted, and one that waits on a thread blocks this worker's event loop too.
 */
import { setWatcher } from '../src/engine/runtime/web/ort';
import type { WatchedWork } from '../src/engine/runtime/web/ort';
import type { WorkerReply } from '../src/protocol/messages';

const GIB = 2 ** 30;

/**
 * Bound = floor + seconds per GiB of the graph (graph file and external data), per phase. The
 * numbers are 10 times or more what was measured on 2 shared cores with SwiftShader
 * (docs/fullsize.md, "Watchdog"): sessions are made at up to ~12 s per GiB (WASM, the full-size
 * package's 2.74 GB in 33.8 s); a full-size edit's runs on WASM took 190–197 s for 2 steps at
 * 512 px, its 692 MB step well under 90 s; SwiftShader ran the depth-reduced step in 261 s
 * (shaders compiled on first use). Floors cover the tiny graphs' start-up (under 3 s).
 */
export const STALL_BOUNDS = {
  session: { floorMs: 60_000, msPerGiB: 120_000 },
  run: {
    wasm: { floorMs: 60_000, msPerGiB: 900_000 },
    webgpu: { floorMs: 120_000, msPerGiB: 3_600_000 },
  },
} as const;

/** How long `work` may go without progress before its worker is stopped. */
export function stallBoundMs(work: Pick<WatchedWork, 'phase' | 'bytes' | 'backend'>): number {
  const b = work.phase === 'session' ? STALL_BOUNDS.session : STALL_BOUNDS.run[work.backend];
  return Math.round(b.floorMs + (b.msPerGiB * work.bytes) / GIB);
}

const megabytes = (bytes: number) => `${Math.max(1, Math.round(bytes / 1e6)).toLocaleString('en-US')} MB`;

/** What the person reads: which graph, and whether its session was being made or it was running. */
export function describeWork(work: Pick<WatchedWork, 'graph' | 'phase' | 'bytes'>): string {
  return work.phase === 'session'
    ? `creating the session of ${work.graph} (${megabytes(work.bytes)})`
    : `running ${work.graph}`;
}

/** Renewals of a bound are sent at most this often (a range is read every few milliseconds). */
const RENEW_MS = 1000;

/** Puts every session creation and run of this worker under the watchdog; `post` reaches the page. */
export function installWatchdog(post: (reply: WorkerReply) => void): void {
  setWatcher(async (work, job) => {
    const watch = { what: describeWork(work), boundMs: work.boundMs ?? stallBoundMs(work) };
    post({ type: 'watch', id: 0, watch });
    let renewed = performance.now();
    const progress = () => {
      const now = performance.now();
      if (now - renewed < RENEW_MS) return;
      renewed = now;
      post({ type: 'watch', id: 0, watch });
    };
    try {
      return await job(progress);
    } finally {
      post({ type: 'watch', id: 0, watch: null });
    }
  });
}
