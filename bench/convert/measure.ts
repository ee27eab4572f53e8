/**
 * One command run as a child process tree and measured (Linux):
 * - wall time, by this process's clock from spawn to exit;
 * - CPU time and the largest single process's peak RSS, from GNU time (`/usr/bin/time`: user +
 *   system and ru_maxrss of the command and every descendant it waited for);
 * - the tree's peak RSS: the sum of VmRSS over the command's process tree, sampled from /proc
 *   every `sampleMs` (a peak shorter than that can be missed);
 * - bytes read: `rchar` (every read() call, from page cache or disk, the interpreter's own files
 *   included) and `read_bytes` (what the storage layer fetched; 0 when all was cached), from
 *   /proc/<pid>/io of a shell that waited for the command, so its reaped children are counted.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { descendants, readProcTable } from '../fullsize/procMemory';

export interface Measured {
  readonly exitCode: number;
  readonly wallS: number;
  readonly cpuS: number;
  /** the largest VmRSS sum over the process tree seen while sampling */
  readonly peakTreeRssBytes: number;
  /** ru_maxrss of the largest single process (exact, from wait4) */
  readonly maxProcessRssBytes: number;
  readonly rcharBytes: number;
  readonly readBytes: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const GNU_TIME = '/usr/bin/time';

/** GNU time's `-f '%U %S %M'` line: user and system seconds, max RSS in KiB. */
export function parseTimeLine(text: string): { cpuS: number; maxRssBytes: number } {
  const line = text.trim().split('\n').at(-1) ?? '';
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/.exec(line);
  if (!m) throw new Error(`GNU time wrote ${JSON.stringify(line)}, not "user system maxrss"`);
  return { cpuS: Number(m[1]) + Number(m[2]), maxRssBytes: Number(m[3]) * 1024 };
}

/** `rchar` and `read_bytes` of a /proc/<pid>/io text. */
export function parseProcIo(text: string): { rchar: number; readBytes: number } {
  const get = (k: string) => {
    const m = new RegExp(`^${k}: (\\d+)$`, 'm').exec(text);
    if (!m) throw new Error(`/proc io has no ${k}`);
    return Number(m[1]);
  };
  return { rchar: get('rchar'), readBytes: get('read_bytes') };
}

export async function measure(
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; sampleMs?: number } = {},
): Promise<Measured> {
  if (!existsSync(GNU_TIME))
    throw new Error(
      `${GNU_TIME} (GNU time) is missing: install it (apt-get install time) to measure CPU time`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'editmgt-measure-'));
  try {
    const timeFile = join(dir, 'time');
    const ioFile = join(dir, 'io');
    // the shell waits for the command, then reads its own io counters, which now hold the
    // command's (a reaped child's counters are added to its parent's)
    const script = '"$@"; rc=$?; cat /proc/$$/io > "$IO_FILE"; exit $rc';
    const started = performance.now();
    const child = spawn(GNU_TIME, ['-f', '%U %S %M', '-o', timeFile, 'sh', '-c', script, 'sh', ...argv], {
      cwd: options.cwd,
      env: { ...(options.env ?? process.env), IO_FILE: ioFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let peak = 0;
    const sample = () => {
      if (child.pid === undefined) return;
      const tree = descendants(readProcTable(), child.pid);
      peak = Math.max(
        peak,
        tree.reduce((a, p) => a + p.rssBytes, 0),
      );
    };
    const timer = setInterval(sample, options.sampleMs ?? 100);
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? 1));
    });
    clearInterval(timer);
    const wallS = (performance.now() - started) / 1000;
    const time = parseTimeLine(readFileSync(timeFile, 'utf8'));
    const io = existsSync(ioFile)
      ? parseProcIo(readFileSync(ioFile, 'utf8'))
      : { rchar: NaN, readBytes: NaN };
    return {
      exitCode,
      wallS,
      cpuS: time.cpuS,
      peakTreeRssBytes: peak,
      maxProcessRssBytes: time.maxRssBytes,
      rcharBytes: io.rchar,
      readBytes: io.readBytes,
      stdout,
      stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
