/**
 * The whole Chromium process tree of a profile, sampled from Linux /proc while a tab converts or
 * copies a model folder: resident memory (the renderer, the GPU process, and all processes
 * summed), CPU time (user + system) and bytes read. The parsers and the accumulator are pure
 * (text and tables in, numbers out); `readTree` reads the live system.
 */
import { readFileSync } from 'node:fs';
import { chromiumRole, descendants, readProcTable } from './procMemory';
import type { ProcEntry } from './procMemory';

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on Linux). */
export const CLOCK_TICKS = 100;

/** utime + stime of /proc/PID/stat, in clock ticks (the fields after the command's closing paren). */
export function parseCpuTicks(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  // after ") ": state is field 3; utime and stime are fields 14 and 15
  const rest = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

/** `rchar` (every read() call's bytes) and `read_bytes` (bytes fetched from storage) of /proc/PID/io. */
export function parseIo(io: string): { rchar: number; readBytes: number } | null {
  const rchar = /^rchar:\s+(\d+)$/m.exec(io);
  const readBytes = /^read_bytes:\s+(\d+)$/m.exec(io);
  return rchar && readBytes ? { rchar: Number(rchar[1]), readBytes: Number(readBytes[1]) } : null;
}

/** One process of the tree at one moment. */
export interface TreeProcess {
  pid: number;
  role: 'browser' | 'renderer' | 'gpu-process' | 'other';
  rssBytes: number;
  cpuTicks: number;
  rchar: number;
  readBytes: number;
}

function readOr<T>(path: string, parse: (text: string) => T | null): T | null {
  try {
    return parse(readFileSync(path, 'utf8'));
  } catch {
    return null; // the process ended, or /proc/PID/io is not readable
  }
}

/** The browser process and every descendant, from one reading of /proc. */
export function treeOf(table: readonly ProcEntry[], browserPid: number): ProcEntry[] {
  const browser = table.find((p) => p.pid === browserPid);
  return [...(browser ? [browser] : []), ...descendants(table, browserPid)];
}

export function readTree(browserPid: number): TreeProcess[] {
  return treeOf(readProcTable(), browserPid).map((p) => {
    const io = readOr(`/proc/${p.pid}/io`, parseIo);
    return {
      pid: p.pid,
      role: p.pid === browserPid ? 'browser' : (chromiumRole(p.cmdline) ?? 'other'),
      rssBytes: p.rssBytes,
      cpuTicks: readOr(`/proc/${p.pid}/stat`, parseCpuTicks) ?? 0,
      rchar: io?.rchar ?? 0,
      readBytes: io?.readBytes ?? 0,
    };
  });
}

/** What a phase measured over the tree. */
export interface PhaseTotals {
  samples: number;
  /** renderers summed (the page's, and any other the browser keeps, e.g. for a blank page) */
  peak_renderer_bytes: number;
  /** the largest single renderer: the page's, whose process also runs its workers */
  peak_largest_renderer_bytes: number;
  peak_gpu_process_bytes: number;
  /** Largest sum of every tree process's RSS sampled at one moment (shared pages counted in each). */
  peak_tree_bytes: number;
  /** CPU seconds (user + system) the tree's processes spent in the phase, up to each one's last sample. */
  cpu_s: number;
  /** Bytes of read() calls in the tree (files, pipes), and bytes fetched from storage. */
  rchar_bytes: number;
  read_bytes: number;
}

/**
 * Peaks and counters of one phase. A process already running when the phase starts counts from
 * its first sample; one started later counts from zero; one that ends keeps what it had at its
 * last sample.
 */
export class PhaseAccumulator {
  private readonly first = new Map<number, TreeProcess>();
  private readonly last = new Map<number, TreeProcess>();
  /** each sample's time and memory: the peaks are taken over those up to a given time */
  private readonly sampled: {
    at: number;
    renderer: number;
    largestRenderer: number;
    gpu: number;
    tree: number;
  }[] = [];

  /** `before`: the tree as sampled when the phase starts (`at`: when, in ms; default now). */
  constructor(before: readonly TreeProcess[], at = Date.now()) {
    for (const p of before) this.first.set(p.pid, p);
    this.add(before, at);
  }

  add(tree: readonly TreeProcess[], at = Date.now()): void {
    let renderer = 0;
    let largestRenderer = 0;
    let gpu = 0;
    let all = 0;
    for (const p of tree) {
      // a process started during the phase: everything it did is the phase's
      if (!this.first.has(p.pid)) this.first.set(p.pid, { ...p, cpuTicks: 0, rchar: 0, readBytes: 0 });
      this.last.set(p.pid, p);
      all += p.rssBytes;
      if (p.role === 'renderer') {
        renderer += p.rssBytes;
        largestRenderer = Math.max(largestRenderer, p.rssBytes);
      }
      if (p.role === 'gpu-process') gpu += p.rssBytes;
    }
    this.sampled.push({ at, renderer, largestRenderer, gpu, tree: all });
  }

  /**
   * The phase's totals. `until` (ms): the peaks only over the samples taken up to then (the
   * page's own end of a phase, when what follows it starts at once and the phase's end is seen
   * later); CPU and reads still run to the last sample.
   */
  totals(until = Infinity): PhaseTotals {
    const counted = this.sampled.filter((x) => x.at <= until);
    const peak = (key: 'renderer' | 'largestRenderer' | 'gpu' | 'tree') =>
      counted.reduce((a, x) => Math.max(a, x[key]), 0);
    let ticks = 0;
    let rchar = 0;
    let readBytes = 0;
    for (const [pid, last] of this.last) {
      const first = this.first.get(pid)!;
      ticks += Math.max(0, last.cpuTicks - first.cpuTicks);
      rchar += Math.max(0, last.rchar - first.rchar);
      readBytes += Math.max(0, last.readBytes - first.readBytes);
    }
    return {
      samples: counted.length,
      peak_renderer_bytes: peak('renderer'),
      peak_largest_renderer_bytes: peak('largestRenderer'),
      peak_gpu_process_bytes: peak('gpu'),
      peak_tree_bytes: peak('tree'),
      cpu_s: ticks / CLOCK_TICKS,
      rchar_bytes: rchar,
      read_bytes: readBytes,
    };
  }
}
