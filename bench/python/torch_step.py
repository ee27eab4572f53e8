"""One transformer step of a checkpoint's transformer in PyTorch (the reference's module), timed
on this CPU: the PyTorch side of the full-size step in npm run bench.

The inputs are the ones bench/node/fullsize.ts feeds onnxruntime-node (all cells masked,
reference ids 0, float inputs 0.5, guidance and text weights 1), so both sides do the same work.

Usage: python torch_step.py --checkpoint DIR [--grid 64] [--text-len 256] [--blocks 28,29,…]
         [--threads N] [--runs 1]
Prints JSON {"step_ms": [...], "load_ms", "threads", "peak_rss_bytes"}.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch


def main() -> dict:
    from editmgt_export.checkpoint import load_transformer
    from editmgt_export.graphs import TransformerStep

    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--grid", type=int, default=64)
    p.add_argument("--text-len", type=int, default=256)
    p.add_argument("--blocks", default="28,29,30,31,32,33,34,35,36")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--runs", type=int, default=1)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    root = Path(a.checkpoint)
    sub = next(s for s in ("editmgt", "transformer") if (root / s).is_dir())
    t = time.perf_counter()
    with torch.no_grad():
        transformer = load_transformer(root / sub)
        step = TransformerStep(transformer, (a.grid, a.grid), a.text_len, [int(b) for b in a.blocks.split(",")]).eval()
    load_ms = (time.perf_counter() - t) * 1000
    cfg = transformer.config
    g, n = a.grid, a.grid * a.grid
    feeds = (
        torch.full((1, g, g), cfg.vocab_size - 1, dtype=torch.int32),
        torch.zeros(1, g, g, dtype=torch.int32),
        torch.full((2, a.text_len, cfg.joint_attention_dim), 0.5),
        torch.full((2, cfg.pooled_projection_dim), 0.5),
        torch.full((1, 5), 0.5),
        torch.full((1,), 0.5),
        torch.ones(1),
        torch.full((1,), 0.5),
        torch.ones(a.text_len),
        torch.full((1, n), 0.5),
    )
    times = []
    with torch.no_grad():
        for _ in range(a.runs):
            t = time.perf_counter()
            step(*feeds)
            times.append((time.perf_counter() - t) * 1000)
    return {
        "step_ms": times,
        "load_ms": load_ms,
        "threads": torch.get_num_threads(),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
