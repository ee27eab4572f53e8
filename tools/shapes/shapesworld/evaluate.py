"""Python-side edit evaluation on the test split: PSNR inside / outside the ground-truth edit region,
with region-hold off and on, through the exporter's reference pipeline (the engine's algorithm).

    tools/export/.venv/bin/python -m shapesworld.evaluate --package ../../public/models/shapes --count 70

Randomness per pair is seeded by the pair index, so "off" and "on" see the same draws.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from editmgt_export.package import read_manifest
from editmgt_export.pipeline import EditRequest, ModelGeometry, Tokenizers, run_edit

from .splits import pair_at


def psnr(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float | None:
    """PSNR (dB, 8-bit scale) over the pixels where ``region`` is True; None if empty."""
    if not region.any():
        return None
    d = (a.astype(np.float64) - b.astype(np.float64))[region]
    mse = float(np.mean(d * d))
    return 100.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def package_runner(folder: Path, dtype: str, threads: int = 2):
    """The exporter's OrtRunner, with each graph taken from the manifest's path for ``dtype``
    (a dtype may share a graph file with another)."""
    import onnxruntime as ort

    from editmgt_export.runners import OrtRunner

    m = read_manifest(folder)
    runner = OrtRunner.__new__(OrtRunner)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    runner.sessions = {
        g: ort.InferenceSession(str(folder / e["file"]), opts, providers=["CPUExecutionProvider"])
        for g, e in m["dtypes"][dtype]["graphs"].items()
    }
    table = m["dtypes"][dtype]["graphs"]["text_llm"].get("token_table")  # text_llm takes its rows
    runner.token_table = (folder / table["file"], table) if table else None
    return runner


def open_package(folder: Path, dtype: str = "fp32"):
    m = read_manifest(folder)
    geo = ModelGeometry.from_manifest(m)
    tok = Tokenizers(folder / "tokenizer_clip" / "tokenizer.json", folder / "tokenizer_llm" / "tokenizer.json")
    return package_runner(folder, dtype), tok, geo, m


def edit(
    runner,
    tok,
    geo,
    source: np.ndarray,
    instruction: str,
    seed: int,
    *,
    steps: int,
    guidance: float,
    strength: float,
    hold: float,
    negative: str,
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seq = geo.token_grid[0] * geo.token_grid[1]
    req = EditRequest(
        prompt=instruction,
        pixels=(source.astype(np.float32) / 255).transpose(2, 0, 1)[None],
        draw_u=rng.random((steps, seq), dtype=np.float32),
        gumbel_u=rng.random((steps, seq), dtype=np.float32),
        negative_prompt=negative,
        guidance_scale=guidance,
        reference_strength=strength,
        region_hold=hold,
    )
    out = run_edit(runner, tok, geo, req)
    return (out["pixels"][0].transpose(1, 2, 0) * 255).round().clip(0, 255).astype(np.uint8), out


def evaluate(
    runner,
    tok,
    geo,
    count: int,
    holds,
    *,
    steps=16,
    guidance=6.0,
    strength=1.1,
    negative="",
    start=0,
    log=print,
    save_dir: Path | None = None,
) -> dict:
    rows = []
    for i in range(start, start + count):
        p = pair_at("test", i)
        inside, outside = p.mask, ~p.mask
        row = {
            "index": i,
            "kind": p.kind,
            "instruction": p.instruction,
            "source_in": psnr(p.source_image, p.target_image, inside),
        }
        for lam in holds:
            img, _ = edit(
                runner,
                tok,
                geo,
                p.source_image,
                p.instruction,
                seed=1000 + i,
                steps=steps,
                guidance=guidance,
                strength=strength,
                hold=lam,
                negative=negative,
            )
            row[f"in@{lam}"] = psnr(img, p.target_image, inside)
            row[f"out@{lam}"] = psnr(img, p.target_image, outside)
            if save_dir is not None:
                from PIL import Image

                save_dir.mkdir(parents=True, exist_ok=True)
                Image.fromarray(img).save(save_dir / f"test_{i:05d}_hold{lam}.png")
        rows.append(row)
        log(json.dumps(row))
    return summarize(rows, holds)


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return round(float(np.mean(vals)), 2) if vals else None


def summarize(rows, holds) -> dict:
    kinds = sorted({r["kind"] for r in rows})
    out = {"pairs": len(rows), "source_in": _mean(r["source_in"] for r in rows)}
    for lam in holds:
        out[f"hold={lam}"] = {
            "psnr_inside": _mean(r[f"in@{lam}"] for r in rows),
            "psnr_outside": _mean(r[f"out@{lam}"] for r in rows),
            "per_kind": {
                k: {
                    "in": _mean(r[f"in@{lam}"] for r in rows if r["kind"] == k),
                    "out": _mean(r[f"out@{lam}"] for r in rows if r["kind"] == k),
                }
                for k in kinds
            },
        }
    return {"summary": out, "rows": rows}


def main(argv=None) -> None:
    import torch

    torch.set_num_threads(2)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", type=Path, required=True)
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--count", type=int, default=70)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--holds", default="0,0.1")
    ap.add_argument("--steps", type=int, default=None, help="default: the package's")
    ap.add_argument("--guidance", type=float, default=None, help="default: the package's")
    ap.add_argument("--strength", type=float, default=None, help="default: the package's")
    ap.add_argument("--negative", default="")
    ap.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    ap.add_argument("--save-images", type=Path, default=None)
    a = ap.parse_args(argv)
    runner, tok, geo, m = open_package(a.package, a.dtype)
    d = m.get("defaults", {})
    a.steps = a.steps or d.get("steps", 16)
    a.guidance = d.get("guidance_scale", 6.0) if a.guidance is None else a.guidance
    a.strength = d.get("reference_strength", 1.1) if a.strength is None else a.strength
    holds = [float(h) for h in a.holds.split(",")]
    t0 = time.time()
    res = evaluate(
        runner,
        tok,
        geo,
        a.count,
        holds,
        steps=a.steps,
        guidance=a.guidance,
        strength=a.strength,
        negative=a.negative,
        start=a.start,
        save_dir=a.save_images,
        log=lambda s: None,
    )
    res["settings"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
    res["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(res["summary"], indent=1))
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
