"""Deterministic train / validation / test splits, and writing a split to disk.

Pair ``i`` of split ``s`` is drawn from ``numpy.random.default_rng([SEED, SPLIT_IDS[s], i])``,
so the splits never share a random stream and any pair can be regenerated on its own. The edit
kind cycles through ``KINDS`` (pair i has kind ``KINDS[i % 7]``), so every split is balanced.
Training and tuning only ever call this with ``train`` and ``val``; ``test`` is for evaluation.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from .edits import KINDS, EditPair, caption, make_pair

SEED = 20251211
SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
GENERATOR_VERSION = 1


def pair_at(split: str, index: int, seed: int = SEED) -> EditPair:
    rng = np.random.default_rng([seed, SPLIT_IDS[split], index])
    return make_pair(rng, KINDS[index % len(KINDS)])


def iter_pairs(split: str, start: int, count: int, seed: int = SEED):
    for i in range(start, start + count):
        yield pair_at(split, i, seed)


def write_split(out: Path, split: str, count: int, start: int = 0, seed: int = SEED) -> Path:
    """Write ``count`` pairs as PNGs (source, target, mask 0/255) plus ``index.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(start, start + count):
        p = pair_at(split, i, seed)
        name = f"{split}_{i:05d}"
        Image.fromarray(p.source_image).save(out / f"{name}_source.png", optimize=True)
        Image.fromarray(p.target_image).save(out / f"{name}_target.png", optimize=True)
        Image.fromarray(p.mask.astype(np.uint8) * 255).save(out / f"{name}_mask.png", optimize=True)
        entries.append(
            {
                "id": name,
                "kind": p.kind,
                "instruction": p.instruction,
                "source": f"{name}_source.png",
                "target": f"{name}_target.png",
                "mask": f"{name}_mask.png",
                "source_caption": caption(p.source),
                "target_caption": caption(p.target),
                "mask_fraction": round(float(p.mask.mean()), 4),
            }
        )
    index = {
        "generator": "tools/shapes/shapesworld",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "split": split,
        "start": start,
        "count": count,
        "size": 128,
        "kinds": list(KINDS),
        "pairs": entries,
    }
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Write a deterministic split of shapes-world edit pairs to disk.")
    ap.add_argument("--split", choices=list(SPLIT_IDS), default="test")
    ap.add_argument("--count", type=int, default=140)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / ".work" / "test")
    a = ap.parse_args(argv)
    print(write_split(a.out, a.split, a.count, a.start, a.seed))


if __name__ == "__main__":
    main()
