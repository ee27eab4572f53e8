"""The full-size transformer step on a real GPU: the browser's WebGPU kernels (onnxruntime's WebGPU
plugin execution provider, Dawn over Vulkan) next to the same module in PyTorch on CUDA.

For each resolution (512 and 1024 px by default) it builds the published transformer configuration
with random weights, times `TransformerStep` in PyTorch (fp16 and bf16 weights and activations, the
sampling tail in float32), exports `transformer_step` with the project's exporter, converts it to
each dtype (fp32, fp16, q4, q4f16 by default), creates a WebGPU session with CPU fallback disabled
(so a node the WebGPU provider cannot run is reported, not hidden), and times it. Phases run in
order of value and stop when --budget-seconds is spent, so a short lease still returns numbers.

    python bench/python/gpu_step.py --json out.json [--resolutions 512,1024] [--dtypes q4,fp16]
        [--torch-dtypes fp16,bf16] [--runs 5] [--budget-seconds 720] [--config full|tiny]

`--config tiny --device cpu` runs the same code paths on the tiny model (a check on any machine).
bench/python/gpu_step.sh sets a GPU machine up (Vulkan loader, wheels) and calls this.
Prints one JSON document; each timing is seconds per step (median of --runs after one warm-up),
with the 16- and 36-step edit times (steps only: text encoders and VQ excluded) and the ratio
WebGPU / PyTorch.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

EDIT_STEPS = (16, 36)
TEXT_LEN = 256
BLOCKS = [28, 29, 30, 31, 32, 33, 34, 35, 36]


def build_transformer(config: str, seed: int = 0):
    from editmgt_export.fullsize import FULL_TRANSFORMER
    from editmgt_export.tiny import TINY_TRANSFORMER, TRANSFORMER_GAIN, randomize
    from editmgt_export.transformer import EditMGTTransformer

    cfg = FULL_TRANSFORMER if config == "full" else TINY_TRANSFORMER
    model = EditMGTTransformer(**cfg)
    randomize(model, seed, gain=TRANSFORMER_GAIN)
    return model.eval()


def geometry(model, resolution: int, config: str) -> tuple[tuple[int, int], int, list[int]]:
    """Token grid, text length and attention blocks for a resolution (VQ scale factor 16)."""
    if config == "full":
        g = resolution // 16
        return (g, g), TEXT_LEN, BLOCKS
    n = model.config.num_layers + model.config.num_single_layers
    g = resolution // 8
    return (g, g), 16, [n - 1]


def feeds(model, grid: tuple[int, int], text_len: int) -> dict[str, np.ndarray]:
    """All cells masked, source ids 0, plausible text states: the work of a first step."""
    h, w = grid
    cfg = model.config
    rng = np.random.default_rng(0)
    return {
        "tokens": np.full((1, h, w), cfg.vocab_size - 1, np.int32),
        "ref_tokens": np.zeros((1, h, w), np.int32),
        "text_states": rng.standard_normal((2, text_len, cfg.joint_attention_dim), dtype=np.float32),
        "pooled": rng.standard_normal((2, cfg.pooled_projection_dim), dtype=np.float32),
        "micro_conds": np.array([[1024, 1024, 0, 0, 6]], np.float32),
        "timestep": np.array([15.0], np.float32),
        "guidance_scale": np.array([6.0], np.float32),
        "ref_bias": np.array([0.0953], np.float32),
        "text_weights": np.ones(text_len, np.float32),
        "uniforms": rng.random((1, h * w), dtype=np.float32),
    }


def timed(fn, runs: int, sync=lambda: None) -> dict:
    fn()
    sync()  # warm-up: kernels compiled, memory allocated
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    s = statistics.median(times)
    return {"step_s": s, "runs_s": times, **{f"edit_{n}_steps_s": s * n for n in EDIT_STEPS}}


def torch_timing(model, grid, text_len, blocks, dtype: str, device: str, runs: int) -> dict:
    """The transformer in fp16/bf16 on `device`; softmax, cumulative sum and draw in float32."""
    from editmgt_export.graphs import TransformerStep

    tdtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[dtype]
    step = TransformerStep(model, grid, text_len, blocks).to(device=device, dtype=tdtype)
    f = {k: torch.from_numpy(v).to(device) for k, v in feeds(model, grid, text_len).items()}
    low = {k: (v.to(tdtype) if v.is_floating_point() and k not in ("uniforms",) else v) for k, v in f.items()}

    # Weights in the low dtype; autocast covers the float32 islands (timestep projection) as a
    # half-precision pipeline does.
    def run():
        with torch.no_grad(), torch.autocast(device_type=device.split(":")[0], dtype=tdtype):
            logits, attention = step.logits_and_attention(
                low["tokens"],
                low["ref_tokens"],
                low["text_states"],
                low["pooled"],
                low["micro_conds"],
                low["timestep"],
                low["guidance_scale"],
                low["ref_bias"],
                low["text_weights"],
            )
            probs = torch.softmax(logits.float().flatten(1, 2), dim=-1)
            below = (torch.cumsum(probs, dim=-1) <= f["uniforms"].unsqueeze(-1)).float().sum(-1)
            return below, attention

    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    out = timed(run, runs, sync)
    if device.startswith("cuda"):
        out["peak_gpu_bytes"] = torch.cuda.max_memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    model.to(torch.float32)
    return out


def export_step(model, grid, text_len, blocks, folder: Path) -> Path:
    from editmgt_export.graphs import GRAPH_IO, TransformerStep
    from editmgt_export.onnx_export import export_graph

    h, w = grid
    f = feeds(model, grid, text_len)
    args = tuple(torch.from_numpy(f[k]) for k in GRAPH_IO["transformer_step"][0])  # in the graph's input order
    assert args[0].shape == (1, h, w)
    return export_graph(
        TransformerStep(model.cpu().float(), grid, text_len, blocks),
        args,
        folder / "transformer_step.onnx",
        "transformer_step",
    )


def webgpu_session(path: Path, allow_cpu: bool):
    import onnxruntime as ort
    import onnxruntime_ep_webgpu as webgpu_ep

    if not getattr(webgpu_session, "registered", False):
        ort.register_execution_provider_library("webgpu", webgpu_ep.get_library_path())
        webgpu_session.registered = True
    device = next((d for d in ort.get_ep_devices() if d.ep_name == webgpu_ep.get_ep_name()), None)
    if device is None:
        raise RuntimeError("no WebGPU device (is a Vulkan loader and driver installed?)")
    so = ort.SessionOptions()
    if not allow_cpu:
        so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    so.add_provider_for_devices([device], {})
    return ort.InferenceSession(str(path), sess_options=so)


def webgpu_timing(path: Path, f: dict, runs: int) -> dict:
    out: dict = {"bytes": sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))}
    t = time.perf_counter()
    try:
        sess = webgpu_session(path, allow_cpu=False)
        out["cpu_fallback"] = False
    except Exception as err:  # a node without a WebGPU kernel: say which, then measure with fallback
        out["cpu_fallback"] = True
        out["no_fallback_error"] = str(err).splitlines()[0][:400]
        sess = webgpu_session(path, allow_cpu=True)
    out["session_s"] = time.perf_counter() - t
    names = [i.name for i in sess.get_inputs()]
    out.update(timed(lambda: sess.run(None, {n: f[n] for n in names}), runs))
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json")
    p.add_argument("--config", choices=["full", "tiny"], default="full")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--resolutions", default="512,1024")
    p.add_argument("--dtypes", default="q4,fp16,q4f16,fp32")
    p.add_argument("--torch-dtypes", default="fp16,bf16")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--budget-seconds", type=float, default=720)
    p.add_argument("--work", default=None, help="folder for the exported graphs (a temporary one by default)")
    a = p.parse_args(argv)
    started = time.perf_counter()
    left = lambda: a.budget_seconds - (time.perf_counter() - started)  # noqa: E731
    report: dict = {
        "config": a.config,
        "device": a.device,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name(0) if a.device.startswith("cuda") else None,
        "runs": [],
    }
    try:
        import onnxruntime as ort

        report["onnxruntime"] = ort.__version__
    except ImportError:
        pass
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="gpu-step-"))
    model = build_transformer(a.config)
    from editmgt_export.dtypes import convert_graph

    for res in [int(r) for r in a.resolutions.split(",")]:
        grid, text_len, blocks = geometry(model, res, a.config)
        row: dict = {"resolution": res, "token_grid": list(grid), "torch": {}, "webgpu": {}}
        report["runs"].append(row)
        for td in a.torch_dtypes.split(","):
            if left() <= 0:
                row["torch"][td] = {"error": "budget spent"}
                continue
            try:
                row["torch"][td] = torch_timing(model.to(a.device), grid, text_len, blocks, td, a.device, a.runs)
            except Exception as err:
                row["torch"][td] = {"error": f"{type(err).__name__}: {err}"[:400]}
        model.cpu().float()
        if a.device.startswith("cuda"):
            torch.cuda.empty_cache()
        folder = work / str(res)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            t = time.perf_counter()
            (folder / "fp32").mkdir(exist_ok=True)
            fp32 = export_step(model, grid, text_len, blocks, folder / "fp32")
            row["export_s"] = time.perf_counter() - t
        except Exception as err:
            row["export_error"] = f"{type(err).__name__}: {err}"[:400]
            continue
        f = feeds(model, grid, text_len)
        for d in a.dtypes.split(","):
            if left() <= 0:
                row["webgpu"][d] = {"error": "budget spent"}
                continue
            try:
                t = time.perf_counter()
                (folder / d).mkdir(exist_ok=True)
                path = (
                    fp32
                    if d == "fp32"
                    else convert_graph(fp32, d, folder / d / "transformer_step.onnx", "transformer_step")
                )
                convert_s = time.perf_counter() - t
                row["webgpu"][d] = {"convert_s": convert_s, **webgpu_timing(path, f, a.runs)}
            except Exception as err:
                row["webgpu"][d] = {
                    "error": f"{type(err).__name__}: {err}"[:400],
                    "trace": traceback.format_exc()[-800:],
                }
        best_torch = min((v["step_s"] for v in row["torch"].values() if "step_s" in v), default=None)
        for v in row["webgpu"].values():
            if "step_s" in v and best_torch:
                v["ratio_to_best_torch"] = v["step_s"] / best_torch
    report["wall_s"] = time.perf_counter() - started
    text = json.dumps(report, indent=1)
    if a.json:
        Path(a.json).write_text(text + "\n")
    print(text)
    return report


if __name__ == "__main__":
    main()
