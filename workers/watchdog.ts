/**
 * The watchdog: nobody waits for ever on the runtime. Every session creation and every graph run
 * (src/engine/runtime/web/ortWebRunner.ts, through `underWatchdog` in ort.ts) is announced to the page
 * with a bound that the graph's size sets; reading a range of its weights counts as progress and
 * renews the bound. The page enforces it (src/protocol/engineClient.ts): with no newer word from
 * the worker within the bound it terminates the worker, answers every request in flight with
 * `stalled` and starts a fresh one. The page does it, not the worker, because a hung WASM call
 * cannot be interrupted, and one that waits on a thread blocks this worker's event loop too.
 */
import type { WatchedWork, Watcher } from '../src/engine/runtime/web/internal';
import type { WorkerReply } from '../src/protocol/messages';

const GIB = 2 ** 30;

/**
 * Bound = floor + seconds per GiB of the graph (graph file and external data), per phase, at
 * about 10 times what was measured on 2 shared cores (docs/fullsize.md, "Watchdog"):
 * - session creation: 13–17 s per GiB (the full-size package's 2.55 GiB made in 33.8 s on WASM
 *   and 42.9 s on WebGPU, file reads included; the depth-reduced one's 0.71 GiB in 10.4 s);
 * - a run on WASM: the full-size edit's 2 steps at 512 px took 190–197 s with encoding, decoding
 *   and its sessions made in between, so its 0.64 GiB step stays under ~70 s (~110 s per GiB);
 * - a run on WebGPU: SwiftShader (the GPU emulated on the CPU) ran the depth-reduced step
 *   (116 MB) in 261 s, shaders compiled on first use included (~2,400 s per GiB).
 * The floors cover start-up of the smallest graphs (a tiny package's sessions take under 3 s).
 */
export const STALL_BOUNDS = {
  session: { floorMs: 60_000, msPerGiB: 180_000 },
  run: {
    wasm: { floorMs: 60_000, msPerGiB: 1_200_000 },
    webgpu: { floorMs: 300_000, msPerGiB: 24_000_000 },
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

/**
 * Puts every session creation and run of this worker under the watchdog (`setWatcher` is ort.ts's);
 * `post` reaches the page.
 */
export function installWatchdog(
  setWatcher: (watcher: Watcher) => void,
  post: (reply: WorkerReply) => void,
): void {
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
