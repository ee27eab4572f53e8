"""EditMGT's published checkpoint layout with headers only: every folder, config, tokenizer and
safetensors file that ``python -m editmgt_export.stream_checkpoint`` writes at the published
config (the real-width Gemma-2-2B, sharded as transformers shards it), but each weights file's
data region is a hole (the file is extended to its size, no byte of it written), so the folder
takes no disk space and no time to make. The configs, tensor names, shapes and shard split are
stream_checkpoint's own; only its data writer is replaced.

    python published_headers.py OUT   (run from tools/export with its venv)
"""

from __future__ import annotations

import sys
from pathlib import Path

from editmgt_export import stream_checkpoint
from editmgt_export.fullsize import CLIP_H, FULL_TRANSFORMER, FULL_VQ, GEMMA2_2B


def header_only(path: Path, names: list[str], shapes: dict, values) -> int:
    """stream_checkpoint.write_safetensors's header, then a hole of the data's size."""
    text, at = stream_checkpoint.safetensors_header(names, shapes)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        f.truncate(8 + len(text) + at)
    return at


def main(out: str) -> int:
    stream_checkpoint.write_safetensors = header_only
    stream_checkpoint.build_streamed_checkpoint(Path(out), 0, dict(FULL_TRANSFORMER), FULL_VQ, CLIP_H, GEMMA2_2B)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
