/** Runs a script of bench/python (PyTorch reference, matmul peak, FLOPs) in the exporter's venv. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env['BENCH_PYTHON'] ?? 'tools/export/.venv/bin/python';

export function pythonAvailable(): boolean {
  return existsSync(PYTHON);
}

export interface PythonResult {
  flops?: Record<string, number>;
  matmul_peak?: { gflops_per_s: number; threads: number };
  [key: string]: unknown;
}

/** `script` is a file of this folder ("reference.py"); it prints one JSON object last. */
export function runPython(script: string, args: string[], timeoutMs: number): PythonResult {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const r = spawnSync(PYTHON, [path, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.status !== 0)
    throw new Error(
      `${script} failed (${r.status ?? r.signal}): ${(r.stderr || '').trim().split('\n').slice(-1)[0] ?? ''}`,
    );
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as PythonResult;
}
