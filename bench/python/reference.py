"""The PyTorch reference edit (tools/export/editmgt_export/pipeline.py on its PyTorch graph modules),
timed phase by phase on this CPU, for the engine / PyTorch ratio in npm run bench (bench/run.ts).

The checkpoint is a hub-layout folder (--checkpoint), or, for the tiny-random package, rebuilt
deterministically from the seed its manifest names (--tiny-cache says where to keep it).
The source picture is the same formula as bench/benchImage.ts; uniforms come from PCG64(seed).
Like the engine, one warm-up edit (another prompt) runs first; the measured edit follows.
`--ort` also times the same pipeline on the package's fp32 graphs in Python onnxruntime (native
ORT without the TypeScript engine).

`--peak-seconds S` also measures the CPU matmul peak (matmul_peak.py) and `--flops GRAPH…` counts
FLOPs of ONNX graphs (flops.py) in the same process, to pay Python's start-up once.

Usage: python reference.py --package DIR [--checkpoint DIR | --tiny-cache DIR] [--steps N]
         [--warm-steps N] [--threads N] [--prompt S] [--warm-prompt S] [--guidance G]
         [--reference-strength S] [--hold λ] [--negative-prompt S] [--ort]
         [--peak-seconds S] [--flops GRAPH.onnx ...] [--no-reference]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np


def bench_image(size: int) -> np.ndarray:
    """float32 [1, 3, size, size] in [0, 1], rounded through uint8 like the RGBA the engine gets."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    img = np.zeros((size, size, 3))
    img[..., 0] = 0.35 + 0.3 * x
    img[..., 1] = 0.55 + 0.25 * y
    img[..., 2] = 0.95 - 0.3 * y
    img[y > 0.65] = [0.2, 0.55, 0.2]
    img[(x - 0.3) ** 2 + (y - 0.4) ** 2 < 0.15**2] = [0.9, 0.15, 0.1]
    img[(abs(x - 0.72) < 0.12) & (abs(y - 0.7) < 0.12)] = [0.1, 0.2, 0.85]
    u8 = np.round(img * 255).astype(np.uint8)
    return (u8.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]


class TimedRunner:
    """Wraps a runner; records (graph, start, end) of every run, in perf_counter seconds."""

    def __init__(self, inner):
        self.inner = inner
        self.log: list[tuple[str, float, float]] = []

    def run(self, graph, feeds):
        t = time.perf_counter()
        out = self.inner.run(graph, feeds)
        self.log.append((graph, t, time.perf_counter()))
        return out


def _pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(np.ceil(q * len(v))) - 1)] if v else float("nan")


def time_edit(runner, tok, geo, prompt: str, steps: int, seed: int, settings: dict) -> dict:
    from editmgt_export.pipeline import EditRequest, run_edit

    seq = geo.token_grid[0] * geo.token_grid[1]
    rng = np.random.Generator(np.random.PCG64(seed))
    draw_u, gumbel_u = rng.random((steps, seq), dtype=np.float32), rng.random((steps, seq), dtype=np.float32)
    timed = TimedRunner(runner)
    start = time.perf_counter()
    run_edit(
        timed,
        tok,
        geo,
        EditRequest(prompt=prompt, pixels=bench_image(geo.resolution), draw_u=draw_u, gumbel_u=gumbel_u, **settings),
    )
    end = time.perf_counter()
    ms = lambda a, b: (b - a) * 1000  # noqa: E731
    runs = lambda g: [(s, e) for n, s, e in timed.log if n == g]  # noqa: E731
    step_runs = runs("transformer_step")
    # step i ends where step i+1's graph run starts (the Python loop work between them is the step's)
    bounds = [s for s, _ in step_runs] + [runs("vq_decode")[0][0]]
    step_ms = [ms(a, b) for a, b in zip(bounds, bounds[1:])]
    graph_ms = [ms(s, e) for s, e in step_runs]
    steady = step_ms[1:] or step_ms
    return {
        "edit_ms": ms(start, end),
        "first_step_ms": ms(start, step_runs[0][1]),
        "text_encode_ms": sum(ms(s, e) for s, e in runs("text_llm") + runs("text_clip")),
        "vq_encode_ms": sum(ms(s, e) for s, e in runs("vq_encode")),
        "decode_ms": sum(ms(s, e) for s, e in runs("vq_decode")),
        "step_ms": step_ms,
        "step_ms_median": float(np.median(steady)),
        "step_ms_p90": _pct(steady, 0.9),
        "overhead_pct": 100 * (sum(step_ms[1:]) - sum(graph_ms[1:])) / max(sum(step_ms[1:]), 1e-9)
        if steps > 1
        else None,
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--package", required=True)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--tiny-cache", default=None)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--warm-steps", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--prompt", default="make the red disc blue")
    p.add_argument("--warm-prompt", default="warm up the kernels")
    # the edit settings: the driver passes the package's defaults, as its node edit uses them
    p.add_argument("--guidance", type=float, default=None)
    p.add_argument("--reference-strength", type=float, default=None)
    p.add_argument("--hold", type=float, default=None)
    p.add_argument("--negative-prompt", default=None)
    p.add_argument("--ort", action="store_true")
    p.add_argument("--peak-seconds", type=float, default=0)
    p.add_argument("--flops", nargs="*", default=[])
    p.add_argument("--no-reference", action="store_true")
    a = p.parse_args(argv)
    extra: dict = {}
    if a.flops:
        from flops import count_flops

        extra["flops"] = {g: count_flops(g)["gflops"] for g in a.flops}
    if a.peak_seconds:
        from matmul_peak import measure

        extra["matmul_peak"] = measure(a.threads or __import__("os").cpu_count() or 1, a.peak_seconds)
    if a.no_reference:
        return extra

    import torch

    from editmgt_export.checkpoint import load_checkpoint
    from editmgt_export.package import read_manifest
    from editmgt_export.pipeline import ModelGeometry, Tokenizers
    from editmgt_export.runners import OrtRunner, TorchRunner

    if a.threads:
        torch.set_num_threads(a.threads)
    package = Path(a.package)
    manifest = read_manifest(package)
    cfg = manifest["config"]
    geo = ModelGeometry.from_manifest(manifest)
    tok = Tokenizers(package / "tokenizer_clip" / "tokenizer.json", package / "tokenizer_llm" / "tokenizer.json")

    if a.checkpoint:
        ckpt_dir = Path(a.checkpoint)
    else:
        from editmgt_export.tiny import build_tiny_checkpoint

        seed = int(manifest["source"]["id"].rsplit(" ", 1)[-1])
        ckpt_dir = Path(a.tiny_cache or ".cache") / f"tiny-random-seed{seed}"
        if not (ckpt_dir / "model_index.json").exists():
            build_tiny_checkpoint(ckpt_dir, seed)
    t = time.perf_counter()
    ckpt = load_checkpoint(ckpt_dir)
    torch_runner = TorchRunner(ckpt, geo.token_grid, geo.llm_length, cfg["attention_blocks"])
    load_ms = (time.perf_counter() - t) * 1000

    named = {
        "guidance_scale": a.guidance,
        "reference_strength": a.reference_strength,
        "region_hold": a.hold,
        "negative_prompt": a.negative_prompt,
    }
    settings = {k: v for k, v in named.items() if v is not None}
    if "temperature" in manifest.get("defaults", {}):
        settings["temperature"] = tuple(manifest["defaults"]["temperature"])
    time_edit(torch_runner, tok, geo, a.warm_prompt, a.warm_steps, a.seed, settings)
    result = {
        "model": manifest["name"],
        "runner": "pytorch",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_ms": load_ms,
        "steps": a.steps,
        "settings": settings,
        **time_edit(torch_runner, tok, geo, a.prompt, a.steps, a.seed, settings),
    }
    if a.ort:
        import onnxruntime

        t = time.perf_counter()
        ort_runner = OrtRunner(package / "fp32", threads=a.threads)
        ort_load = (time.perf_counter() - t) * 1000
        time_edit(ort_runner, tok, geo, a.warm_prompt, a.warm_steps, a.seed, settings)
        result["ort_python"] = {
            "onnxruntime": onnxruntime.__version__,
            "load_ms": ort_load,
            "dtype": "fp32",
            **time_edit(ort_runner, tok, geo, a.prompt, a.steps, a.seed, settings),
        }
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {**result, **extra}


if __name__ == "__main__":
    print(json.dumps(main()))
