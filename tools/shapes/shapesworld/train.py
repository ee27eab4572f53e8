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
        data.build_split(WORK / "train", "train", args.train_pairs, log, workers=args.workers)
        data.build_split(WORK / "val", "val", args.val_pairs, log, workers=args.workers)
        return {"train_pairs": args.train_pairs, "val_pairs": args.val_pairs}
    if stage == "vq" and args.reuse_vq:
        import shutil

        shutil.copyfile(args.reuse_vq / "vq.pt", WORK / "vq.pt")
        shutil.copytree(args.reuse_vq / "tokenizers", WORK / "tokenizers", dirs_exist_ok=True)
        return {"reused": str(args.reuse_vq)}
    if stage == "vq":
        images, _ = data.load_split(WORK / "train")
        stats = vq.train_vq(images[: args.train_pairs], WORK, args.vq_steps, warmup=args.vq_steps * 2 // 5, log=log)
        model = vq.load_vq(WORK)
        val, _ = data.load_split(WORK / "val")
        stats["val_psnr"] = round(vq.reconstruction_psnr(model, val, 128), 2)
        return stats
    if stage == "tokens":
        import numpy as np

        model = vq.load_vq(WORK).to(args.device)
        used = set()
        for split in ("train", "val"):
            images, _ = data.load_split(WORK / split)
            if split == "train":
                images = images[: args.train_pairs]
            toks = vq.encode_split(model, images, batch=64 if args.device == "cpu" else 512)
            np.save(WORK / split / "tokens.npy", toks)
            used |= set(np.unique(toks).tolist())
            log(f"tokens {split}: {toks.shape}")
        return {"codes_used": len(used)}
    from . import mgt

    if stage in mgt.STAGES:
        steps = getattr(args, f"{stage}_steps")
        return mgt.train_stage(
            WORK,
            stage,
            steps,
            log=log,
            device=args.device,
            batch=args.batch,
            lr_scale=args.lr_scale,
            save_every=max(250, steps // 8),
            mirror=args.mirror,
        )
    if stage == "checkpoint":
        from .hub import save_checkpoint

        return {
            "path": str(
                save_checkpoint(WORK, WORK / "checkpoint", stage="focus", trained_by=recipe(args, args.defaults))
            )
        }
    raise ValueError(stage)


RECIPE_OPTIONS = ("device", "batch", "lr_scale", "train_pairs", "t2i_steps", "edit_steps", "focus_steps", "reuse_vq")


def recipe(args, defaults: dict) -> str:
    """How the checkpoint was trained, for its model_index.json and the package's manifest: the
    plain command when every option that shapes the weights has its default (the CPU recipe)."""
    if all(getattr(args, k) == defaults[k] for k in RECIPE_OPTIONS):
        from .hub import RECIPE

        return RECIPE
    steps = " ".join(f"--{k}-steps {getattr(args, f'{k}_steps')}" for k in BUDGET_SHARES)
    return (
        f"tools/shapes (python -m shapesworld.train --device {args.device} --batch {args.batch} "
        f"--lr-scale {args.lr_scale} --train-pairs {args.train_pairs} {steps}"
        f"{', the VQ and tokenizers of the CPU recipe' if args.reuse_vq else ''})"
    )


START = time.time()
BUDGET_SHARES = {"t2i": 0.15, "edit": 0.40, "focus": 0.45}


def fit_budget(args) -> None:
    """Time a few throwaway editing steps at this batch (in ``probe/``), then give the MGT stages
    the steps that fill what is left of the budget (shares above; 4 % kept for validation and
    saving)."""
    from . import mgt

    probe = WORK / "probe"
    probe.mkdir(exist_ok=True)
    for name in ("train", "val", "tokenizers"):
        if not (probe / name).exists():
            (probe / name).symlink_to(WORK / name)
    quiet = dict(log=lambda m: None, device=args.device, batch=args.batch)
    mgt.train_stage(probe, "t2i", 1, **quiet)
    mgt.train_stage(probe, "edit", 10, **quiet)
    # editing steps (the slower kind: they also embed the source); all stages are planned at this rate
    timed = mgt.train_stage(probe, "edit", 40, save_every=10**9, **quiet)
    per_step = timed["loop_seconds"] / 30  # resumed at step 10 (warm-up and set-up not timed)
    left = args.budget_seconds - (time.time() - START)
    for stage, share in BUDGET_SHARES.items():
        setattr(args, f"{stage}_steps", max(100, int(left * 0.96 * share / per_step) // 50 * 50))
    plan = {
        "seconds_per_step": round(per_step, 4),
        "seconds_left": round(left, 1),
        **{f"{k}_steps": getattr(args, f"{k}_steps") for k in BUDGET_SHARES},
    }
    (WORK / "budget.json").write_text(json.dumps(plan, indent=1) + "\n")
    log(f"budget: {plan}")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--until", choices=STAGES, default=STAGES[-1], help="stop after this stage")
    ap.add_argument("--train-pairs", type=int, default=4000)
    ap.add_argument("--val-pairs", type=int, default=280)
    ap.add_argument("--vq-steps", type=int, default=800)
    ap.add_argument("--t2i-steps", type=int, default=300)
    ap.add_argument("--edit-steps", type=int, default=1500)
    ap.add_argument("--focus-steps", type=int, default=2000)
    ap.add_argument("--work", type=Path, default=WORK, help="work folder (default tools/shapes/.work)")
    # The GPU profile (docs/shapes.md): the same stages with more pairs, a larger batch and more steps.
    ap.add_argument("--device", default="cpu", help="torch device for the VQ encoding and the MGT stages")
    ap.add_argument("--batch", type=int, default=32, help="pairs per MGT step")
    ap.add_argument("--lr-scale", type=float, default=1.0, help="multiplies each MGT stage's learning rate")
    ap.add_argument("--workers", type=int, default=1, help="processes generating pairs")
    ap.add_argument(
        "--reuse-vq", type=Path, help="a work folder whose VQ and tokenizers to use instead of training them"
    )
    ap.add_argument(
        "--budget-seconds",
        type=float,
        help="set the MGT stages' steps to fill this wall time (from the start), measured after the tokens stage",
    )
    ap.add_argument("--mirror", type=Path, help="folder that receives weights-only copies as training goes")
    return ap


def main(argv=None) -> None:
    global WORK
    ap = parser()
    args = ap.parse_args(argv)
    args.defaults = {k: ap.get_default(k) for k in RECIPE_OPTIONS}
    WORK = args.work.resolve()
    if args.device == "cpu":
        torch.set_num_threads(2)
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
    if args.mirror:
        args.mirror.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    for stage in STAGES:
        if stage == "t2i" and args.budget_seconds and not _done("t2i").is_file():
            fit_budget(args)
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
