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


def _fill(folder: Path, split: str, start: int, stop: int) -> list[dict]:
    """Write pairs start..stop-1 into the split's image array; return their texts."""
    images = np.load(folder / "images.npy", mmap_mode="r+")
    texts = []
    for i in range(start, stop):
        p = pair_at(split, i)
        images[i, 0], images[i, 1] = p.source_image, p.target_image
        texts.append(
            {
                "kind": p.kind,
                "instruction": p.instruction,
                "source_caption": caption(p.source),
                "target_caption": caption(p.target),
            }
        )
    images.flush()
    return texts


def build_split(folder: Path, split: str, count: int, log=print, workers: int = 1, chunk: int = 1000) -> None:
    """Pairs 0..count-1 of the split (the same arrays whatever ``workers``: each pair depends on
    its index alone)."""
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "texts.json").is_file():
        return
    images = np.lib.format.open_memmap(folder / "images.npy", mode="w+", dtype=np.uint8, shape=(count, 2, 128, 128, 3))
    del images
    t0 = time.time()
    jobs = [(folder, split, s, min(s + chunk, count)) for s in range(0, count, chunk)]
    texts: list[dict] = []
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            for part in pool.starmap(_fill, jobs):
                texts += part
    else:
        for job in jobs:
            texts += _fill(*job)
            log(f"data {split}: {len(texts)}/{count} pairs ({time.time() - t0:.0f}s)")
    log(f"data {split}: {count} pairs in {time.time() - t0:.0f}s")
    (folder / "texts.json").write_text(json.dumps(texts))


def load_split(folder: Path):
    return np.load(folder / "images.npy", mmap_mode="r"), json.loads((folder / "texts.json").read_text())
