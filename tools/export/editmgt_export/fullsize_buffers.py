"""The full-size model's largest GPU buffers per graph at a resolution, without the full-size
export (16 GB of RAM): the real widths with one block of each kind (activations are per block,
so depth does not change the largest one) and the text encoders at their real widths with one
layer and a small vocabulary (their token tables are counted from the architecture: they are
weights of known shape). Writes JSON to stdout:

    python -m editmgt_export.fullsize_buffers [--resolution 512,1024] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .buffers import largest_buffers
from .fullsize import (
    CLIP_H,
    CLIP_STANDIN,
    FULL_TRANSFORMER,
    FULL_VQ,
    GEMMA2_2B,
    GEMMA_STANDIN,
)

SHALLOW_TRANSFORMER = {**FULL_TRANSFORMER, "num_layers": 1, "num_single_layers": 1}
SHALLOW_CLIP = {**CLIP_STANDIN, "num_hidden_layers": 1}
SHALLOW_GEMMA = {**GEMMA_STANDIN, "num_hidden_layers": 2}  # text_llm drops the last layer: one runs
# float32 token tables of the real text encoders [vocab, hidden] (the shallow builds have small ones)
TOKEN_TABLES = {
    "text_clip": CLIP_H["vocab_size"] * CLIP_H["hidden_size"] * 4,
    "text_llm": GEMMA2_2B["vocab_size"] * GEMMA2_2B["hidden_size"] * 4,
}


def measure(work: Path, resolutions: list[int]) -> dict:
    from .checkpoint import load_checkpoint
    from .onnx_export import export_all
    from .tiny import build_random_checkpoint

    ckpt_dir = work / "checkpoint"
    if not (ckpt_dir / "model_index.json").exists() and not (ckpt_dir / "editmgt").exists():
        build_random_checkpoint(
            ckpt_dir, seed=0, transformer=SHALLOW_TRANSFORMER, vq=FULL_VQ, clip=SHALLOW_CLIP, gemma=SHALLOW_GEMMA
        )
    ckpt = load_checkpoint(ckpt_dir)
    report: dict = {"token_tables_fp32_bytes": TOKEN_TABLES, "resolutions": {}}
    for r in resolutions:
        sf = ckpt.vae_scale_factor
        grid = (r // sf, r // sf)
        graphs = None if r == resolutions[0] else ["vq_encode", "vq_decode", "transformer_step"]
        folder = work / f"fp32-{r}"
        paths = export_all(ckpt, folder, grid, r, [0, 1], graphs=graphs)
        per = {}
        for g, p in paths.items():
            lb = largest_buffers(p)
            per[g] = {k: {"name": v.name, "bytes": v.bytes} for k, v in lb.items()}
        report["resolutions"][str(r)] = per
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--resolution", default="512,1024")
    p.add_argument("--work", default=None)
    args = p.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="fullsize-buffers-"))
    json.dump(measure(work, [int(x) for x in args.resolution.split(",")]), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
