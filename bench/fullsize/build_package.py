"""Builds (or reuses) a depth-reduced, real-width EditMGT package for the browser measurement:
the full-size transformer width (hidden 1024, 8 heads of 128, joint dim 2304, 8256-token
vocabulary) with DOUBLE double + SINGLE single blocks, the full 5-level VQ-GAN, and the
real-width text stand-ins of the exporter's `fullsize` check (CLIP-H width with one layer,
Gemma2-2B width with two). `--real-gemma-table` gives the Gemma stand-in its real
256,000 x 2,304 token table (2.4 GB in float32), the part that stresses a browser's heap.

`--text real` gives the package the real text encoders instead: CLIP-H's text tower (24 layers,
its 49,408-token table) and Gemma-2-2B's (26 layers, MLP width 9,216, its 256,000-token table).
Gemma's fp32 export does not fit this machine's memory, so its checkpoint has an MLP width of
NARROW_MLP and the q4 package is widened afterwards (editmgt_export/widen.py: each full-width MLP
weight drawn and quantised alone, the table file given its 256,000 rows); q4 only.

    tools/export/.venv/bin/python bench/fullsize/build_package.py --work DIR [--resolution 512]
        [--dtype q4] [--double 1] [--single 1] [--real-gemma-table] [--text standin|real]

Prints one JSON line: {"package": DIR/package-<px>-<dtype>, "reused": bool, "seconds": …,
"peak_rss_bytes": …}. The checkpoint (DIR/checkpoint) is rebuilt only when the options recorded
beside it differ, so packages at several resolutions or dtypes share one. A package is rebuilt
when its options or the exporter's source (a digest of editmgt_export/*.py) change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import sys
import time
from pathlib import Path

from editmgt_export.fullsize import CLIP_H, CLIP_STANDIN, FULL_TRANSFORMER, FULL_VQ, GEMMA2_2B, GEMMA_STANDIN

NARROW_MLP = 160  # Gemma's MLP width in the checkpoint of a `--text real` package (a width no other matmul has)
TEXT_PARTS = ("text_encoder", "llm_encoder")


def exporter_digest() -> str:
    """sha256 over the exporter's source files: a cached package made by other code is stale."""
    import editmgt_export

    h = hashlib.sha256()
    for f in sorted(Path(editmgt_export.__file__).parent.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--resolution", type=int, default=512)
    p.add_argument("--dtype", default="q4")
    p.add_argument("--double", type=int, default=1)
    p.add_argument("--single", type=int, default=1)
    p.add_argument("--real-gemma-table", action="store_true")
    p.add_argument("--text", choices=("standin", "real"), default="standin")
    a = p.parse_args()
    if a.text == "real" and (a.dtype != "q4" or a.real_gemma_table):
        p.error("--text real makes q4 packages, with Gemma's own table")
    from editmgt_export.__main__ import _quiet
    from editmgt_export.__main__ import main as export_main
    from editmgt_export.tiny import build_random_checkpoint

    _quiet()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    options = {"double": a.double, "single": a.single, "real_gemma_table": a.real_gemma_table, "text": a.text}
    package_options = {**options, "resolution": a.resolution, "dtype": a.dtype, "exporter": exporter_digest()}
    t0 = time.time()
    package = work / f"package-{a.resolution}-{a.dtype}"
    marker, package_marker = work / "checkpoint" / "options.json", package / "options.json"
    if package_marker.exists() and json.loads(package_marker.read_text()) == package_options:
        print(json.dumps({"package": str(package), "reused": True}))
        return 0
    old = json.loads(marker.read_text()) if marker.exists() else None
    if old is not None:
        old.setdefault("text", "standin")
    if old != options:
        tmp = work / ".checkpoint.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        parts = None
        if old is not None and {**old, "text": a.text} == options:  # only the text encoders change
            marker.unlink()
            (work / "checkpoint").rename(tmp)
            parts = TEXT_PARTS
        if a.text == "real":
            clip = dict(CLIP_H)
            gemma = {k: v for k, v in GEMMA2_2B.items() if k != "vocab_size"}
            gemma["intermediate_size"] = NARROW_MLP
        else:
            clip = CLIP_STANDIN
            gemma = {**GEMMA_STANDIN, **({"vocab_size": GEMMA2_2B["vocab_size"]} if a.real_gemma_table else {})}
        transformer = {**FULL_TRANSFORMER, "num_layers": a.double, "num_single_layers": a.single}
        build_random_checkpoint(
            tmp,
            seed=0,
            transformer=transformer,
            vq=FULL_VQ,
            clip=clip,
            gemma=gemma,
            log=lambda m: print(f"  {m} ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True),
            **({"parts": parts} if parts else {}),
        )
        (tmp / "options.json").write_text(json.dumps(options) + "\n")
        shutil.rmtree(work / "checkpoint", ignore_errors=True)
        tmp.rename(work / "checkpoint")
    shutil.rmtree(package, ignore_errors=True)
    rc = export_main(
        [
            "convert",
            "--source",
            str(work / "checkpoint"),
            "--dtype",
            a.dtype,
            "--out",
            str(package),
            "--name",
            "fullsize-reduced" if (a.double, a.single) != (14, 28) else "fullsize-full-depth",
            "--resolution",
            str(a.resolution),
        ]
    )
    if rc:
        return rc
    if a.text == "real":
        from editmgt_export.widen import random_weights, widen_text_llm

        t1 = time.time()
        hidden, full = GEMMA2_2B["hidden_size"], GEMMA2_2B["intermediate_size"]
        widen_text_llm(
            package,
            a.dtype,
            NARROW_MLP,
            full,
            GEMMA2_2B["num_hidden_layers"] - 1,  # text_llm stops at the second-to-last layer
            random_weights(7, hidden, full),
            table_rows=GEMMA2_2B["vocab_size"],
            seed=8,
        )
        print(f"  text_llm widened in {time.time() - t1:.0f}s", file=sys.stderr, flush=True)
    package_marker.write_text(json.dumps(package_options) + "\n")
    print(
        json.dumps(
            {
                "package": str(package),
                "reused": False,
                "seconds": round(time.time() - t0, 1),
                "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
