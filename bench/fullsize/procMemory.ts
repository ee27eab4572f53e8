/**
 * Chromium's renderer and GPU processes from Linux /proc, and their resident memory. The parsers
 * are pure (text in, numbers out); `readProcTable` and `MemorySampler` read the live system.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcEntry {
  pid: number;
  ppid: number;
  /** argv joined by spaces (/proc/PID/cmdline has NUL separators). */
  cmdline: string;
  rssBytes: number;
}

export type ChromiumRole = 'renderer' | 'gpu-process';

/** VmRSS of /proc/PID/status, in bytes (null when the process has no user memory, e.g. a zombie). */
export function parseRssBytes(status: string): number | null {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : null;
}

/** PPid of /proc/PID/status. */
export function parsePpid(status: string): number | null {
  const m = /^PPid:\s+(\d+)$/m.exec(status);
  return m ? Number(m[1]) : null;
}

export function parseCmdline(raw: string): string {
  return raw.split('\0').filter(Boolean).join(' ');
}

/** The process's Chromium role from its command line (`--type=renderer`, `--type=gpu-process`). */
export function chromiumRole(cmdline: string): ChromiumRole | null {
  const m = /--type=(renderer|gpu-process)(\s|$)/.exec(cmdline);
  return m ? (m[1] as ChromiumRole) : null;
}

/** Every descendant of `root` (children, grandchildren: zygotes sit between browser and renderer). */
export function descendants(table: readonly ProcEntry[], root: number): ProcEntry[] {
  const byParent = new Map<number, ProcEntry[]>();
  for (const p of table) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcEntry[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Summed RSS per role among the browser's descendants (renderers summed: a page may have several). */
export function rssByRole(table: readonly ProcEntry[], browserPid: number): Record<ChromiumRole, number> {
  const sums: Record<ChromiumRole, number> = { renderer: 0, 'gpu-process': 0 };
  for (const p of descendants(table, browserPid)) {
    const role = chromiumRole(p.cmdline);
    if (role) sums[role] += p.rssBytes;
  }
  return sums;
}

export function readProcTable(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const ppid = parsePpid(status);
      if (ppid === null) continue;
      out.push({
        pid: Number(name),
        ppid,
        cmdline: parseCmdline(readFileSync(`/proc/${name}/cmdline`, 'utf8')),
        rssBytes: parseRssBytes(status) ?? 0,
      });
    } catch {
      // the process ended between listing and reading
    }
  }
  return out;
}

/** Peaks of summed renderer and GPU-process RSS, sampled every `everyMs` while running. */
export class MemorySampler {
  peak: Record<ChromiumRole, number> = { renderer: 0, 'gpu-process': 0 };
  /** Peak of renderer + GPU process sampled together (not the sum of the two peaks). */
  peakTogether = 0;
  samples = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly browserPid: number,
    private readonly everyMs = 200,
  ) {}

  sample(): void {
    const now = rssByRole(readProcTable(), this.browserPid);
    this.samples++;
    this.peak = {
      renderer: Math.max(this.peak.renderer, now.renderer),
      'gpu-process': Math.max(this.peak['gpu-process'], now['gpu-process']),
    };
    this.peakTogether = Math.max(this.peakTogether, now.renderer + now['gpu-process']);
  }

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  stop(): this {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this;
  }
}

/** The browser process of a profile: the one started with its --user-data-dir and no --type. */
export function browserPidFor(table: readonly ProcEntry[], profile: string): number | null {
  const p = table.find((e) => e.cmdline.includes(`--user-data-dir=${profile}`) && !/--type=/.test(e.cmdline));
  return p?.pid ?? null;
}
