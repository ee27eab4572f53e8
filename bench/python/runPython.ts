/** Runs bench/python/reference.py (PyTorch reference, matmul peak, FLOPs) in the exporter's venv. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = process.env['BENCH_PYTHON'] ?? 'tools/export/.venv/bin/python';

export function pythonAvailable(): boolean {
  return existsSync(PYTHON);
}

export interface PythonResult {
  flops?: Record<string, number>;
  matmul_peak?: { gflops_per_s: number; threads: number };
  [key: string]: unknown;
}

export function runPython(script: string, args: string[], timeoutMs: number): PythonResult {
  const r = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status ?? r.signal}): ${(r.stderr || '').trim().split('\n').slice(-1)[0] ?? ''}`);
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as PythonResult;
}
