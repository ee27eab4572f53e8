"""FLOPs of one transformer step for a transformer configuration, without weights or a graph.

Builds the exporter's TransformerStep on PyTorch's meta device (no memory, no compute) and counts
its matrix products with torch.utils.flop_counter — the same ops flops.py counts in an ONNX graph
(matmuls, linear layers, convolutions; element-wise work ignored). Used for the full-size
architecture when its package is not built; `--config tiny` checks it against flops.py.

Usage: python flops_torch.py [--config fullsize|tiny] [--grid 64] [--text-len 256]
Prints JSON {"gflops": …, "config": …, "token_grid": […]}.
"""

from __future__ import annotations

import argparse
import json

import torch
from torch.utils.flop_counter import FlopCounterMode


def count(config: dict, grid: int, text_len: int, blocks: list[int] | None) -> float:
    from editmgt_export.graphs import TransformerStep
    from editmgt_export.transformer import EditMGTTransformer

    with torch.device("meta"):
        t = EditMGTTransformer(**config)
        n_double, n_single = t.config.num_layers, t.config.num_single_layers
        if blocks is None:  # the exporter's default (package.default_attention_blocks)
            blocks = list(range(28, 37)) if n_double + n_single >= 37 else list(range(n_double, n_double + n_single))
        step = TransformerStep(t, (grid, grid), text_len, blocks).eval()
        d_llm, d_clip = t.config.joint_attention_dim, t.config.pooled_projection_dim
        i32 = lambda *s: torch.zeros(*s, dtype=torch.int32)  # noqa: E731
        f32 = lambda *s: torch.zeros(*s, dtype=torch.float32)  # noqa: E731
        feeds = (
            i32(1, grid, grid),
            i32(1, grid, grid),
            f32(2, text_len, d_llm),
            f32(2, d_clip),
            f32(1, 5),
            f32(1),
            f32(1),
            f32(1),
            f32(text_len),
            f32(1, grid * grid),
        )
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            step(*feeds)
    return counter.get_total_flops() / 1e9


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="fullsize", choices=["fullsize", "tiny"])
    p.add_argument("--grid", type=int, default=None, help="token grid side (default 64 full size, 16 tiny)")
    p.add_argument("--text-len", type=int, default=256)
    a = p.parse_args()
    if a.config == "tiny":
        from editmgt_export.tiny import TINY_TRANSFORMER

        config, grid = dict(TINY_TRANSFORMER), a.grid or 16
    else:
        config, grid = {}, a.grid or 64  # the transformer's defaults are the released architecture
    print(json.dumps({"gflops": count(config, grid, a.text_len, None), "config": a.config, "token_grid": [grid, grid]}))
