"""Materialise training / validation pairs as arrays under the work folder.

``pairs.npz``-style layout per split (uint8 images [N, 2, 128, 128, 3]: source then target;
``texts.json``: instruction, kind, source/target captions). Later stages add ``tokens.npy``
(int16 [N, 2, h, w]) once the VQ exists. Deterministic: built from ``splits.pair_at``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .edits import caption
from .splits import pair_at


def build_split(folder: Path, split: str, count: int, log=print) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "texts.json").is_file():
        return
    images = np.lib.format.open_memmap(folder / "images.npy", mode="w+", dtype=np.uint8, shape=(count, 2, 128, 128, 3))
    texts = []
    t0 = time.time()
    for i in range(count):
        p = pair_at(split, i)
        images[i, 0], images[i, 1] = p.source_image, p.target_image
        texts.append({"kind": p.kind, "instruction": p.instruction,
                      "source_caption": caption(p.source), "target_caption": caption(p.target)})
        if (i + 1) % 1000 == 0:
            log(f"data {split}: {i + 1}/{count} pairs ({time.time() - t0:.0f}s)")
    images.flush()
    del images
    (folder / "texts.json").write_text(json.dumps(texts))


def load_split(folder: Path):
    return np.load(folder / "images.npy", mmap_mode="r"), json.loads((folder / "texts.json").read_text())
