"""The machine's measured matrix-multiply peak on the CPU, the yardstick for achieved FLOP/s.

Times float32 square matmuls in torch (the reference's own kernels) on the threads given and
prints JSON {"gflops_per_s": best over sizes, "threads": n, "by_size": {...}}.
Usage: python matmul_peak.py [--threads N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def measure(threads: int, seconds: float) -> dict:
    torch.set_num_threads(threads)
    by_size = {}
    for n in (512, 1024, 2048):
        a = torch.randn(n, n)
        b = torch.randn(n, n)
        torch.mm(a, b)  # warm-up
        runs, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            torch.mm(a, b)
            runs += 1
        elapsed = time.perf_counter() - start
        by_size[n] = 2 * n**3 * runs / elapsed / 1e9
    return {"gflops_per_s": max(by_size.values()), "threads": threads, "by_size": by_size}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--seconds", type=float, default=1.0)
    a = p.parse_args()
    print(json.dumps(measure(a.threads, a.seconds)))
