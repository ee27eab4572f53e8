"""One command for the whole training: data → VQ → tokens → text-to-image MGT → editing → focus → hub checkpoint.

    tools/export/.venv/bin/python -m shapesworld.train      (run from tools/shapes)

Each stage writes its outputs under ``.work/`` and a ``<stage>.done.json`` with its timing and
final numbers; a rerun skips finished stages (delete a ``.done.json`` to redo one). The MGT
stages save a resumable state every few hundred steps. Torch runs on 2 threads.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

# On a shared machine, spinning OpenMP threads waste the little CPU we get; sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

WORK = Path(__file__).resolve().parents[1] / ".work"
STAGES = ("data", "vq", "tokens", "t2i", "edit", "focus", "checkpoint")


def log(msg: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    with (WORK / "train.log").open("a") as f:
        f.write(line + "\n")


def _done(stage: str) -> Path:
    return WORK / f"{stage}.done.json"


def run_stage(stage: str, args) -> dict:
    from . import data, vq

    if stage == "data":
        data.build_split(WORK / "train", "train", args.train_pairs, log)
        data.build_split(WORK / "val", "val", args.val_pairs, log)
        return {"train_pairs": args.train_pairs, "val_pairs": args.val_pairs}
    if stage == "vq":
        images, _ = data.load_split(WORK / "train")
        stats = vq.train_vq(images[:args.train_pairs], WORK, args.vq_steps, warmup=args.vq_steps * 2 // 5, log=log)
        model = vq.load_vq(WORK)
        val, _ = data.load_split(WORK / "val")
        stats["val_psnr"] = round(vq.reconstruction_psnr(model, val, 128), 2)
        return stats
    if stage == "tokens":
        import numpy as np

        model = vq.load_vq(WORK)
        used = set()
        for split in ("train", "val"):
            images, _ = data.load_split(WORK / split)
            if split == "train":
                images = images[:args.train_pairs]
            toks = vq.encode_split(model, images)
            np.save(WORK / split / "tokens.npy", toks)
            used |= set(np.unique(toks).tolist())
            log(f"tokens {split}: {toks.shape}")
        return {"codes_used": len(used)}
    from . import mgt

    if stage == "t2i":
        return mgt.train_stage(WORK, "t2i", args.t2i_steps, log=log)
    if stage == "edit":
        return mgt.train_stage(WORK, "edit", args.edit_steps, log=log)
    if stage == "focus":
        return mgt.train_stage(WORK, "focus", args.focus_steps, log=log)
    if stage == "checkpoint":
        from .hub import save_checkpoint

        return {"path": str(save_checkpoint(WORK, WORK / "checkpoint", stage="focus"))}
    raise ValueError(stage)


def main(argv=None) -> None:
    global WORK
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--until", choices=STAGES, default=STAGES[-1], help="stop after this stage")
    ap.add_argument("--train-pairs", type=int, default=4000)
    ap.add_argument("--val-pairs", type=int, default=280)
    ap.add_argument("--vq-steps", type=int, default=800)
    ap.add_argument("--t2i-steps", type=int, default=300)
    ap.add_argument("--edit-steps", type=int, default=1500)
    ap.add_argument("--focus-steps", type=int, default=2000)
    ap.add_argument("--work", type=Path, default=WORK, help="work folder (default tools/shapes/.work)")
    args = ap.parse_args(argv)
    WORK = args.work.resolve()
    torch.set_num_threads(2)
    WORK.mkdir(parents=True, exist_ok=True)
    for stage in STAGES:
        if not _done(stage).is_file():
            log(f"stage {stage}: start")
            t0, c0 = time.time(), time.process_time()
            result = run_stage(stage, args)
            # wall time, and process CPU time / 2 threads (what a dedicated 2-core machine would take;
            # the development machine was shared, so wall time overstates it)
            result["stage_seconds"] = round(time.time() - t0, 1)
            result["stage_cpu_seconds_per_thread"] = round((time.process_time() - c0) / 2, 1)
            _done(stage).write_text(json.dumps(result, indent=1) + "\n")
            log(f"stage {stage}: done {json.dumps(result)}")
        if stage == args.until:
            break


if __name__ == "__main__":
    main()
