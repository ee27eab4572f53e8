"""Full-size check: the real EditMGT architecture with random weights goes through the same
`convert` as a published checkpoint, then every graph loads in onnxruntime (Python and node)
and one 1024 px transformer_step runs on the CPU. Sizes, peak memory and times go to
<work>/report.json.

Each phase runs in its own process, so its peak RSS (getrusage maxrss) is its own:
  build    random checkpoint in hub layout   <work>/checkpoint   (reused when present)
  export   the fp32 graphs                   <work>/fp32         (reused when complete)
  convert  editmgt_export convert            <work>/package      (from the kept fp32 graphs)
  step     per dtype: load all graphs, one transformer_step (Python), then node
Text encoders are stand-ins by default: the real output widths (CLIP 1024, Gemma2 2304) with
one/two layers and the tiny tokenizers; --with-text-encoders builds CLIP-H and Gemma2-2B sizes
(about 3 B more parameters; needs far more memory and time than the transformer).
"""

from __future__ import annotations

import json
import math
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .configs import editmgt_transformer, vq_gan
from .errors import ExportError

REPO = Path(__file__).resolve().parents[3]
EXPORT_ROOT = REPO / "tools" / "export"

# config.json of the published transformer (docs: editmgt-reference §1)
FULL_TRANSFORMER = editmgt_transformer(
    in_channels=64,
    num_layers=14,
    num_single_layers=28,
    attention_head_dim=128,
    num_attention_heads=8,
    joint_attention_dim=2304,
    pooled_projection_dim=1024,
    axes_dims_rope=[16, 56, 56],
    vocab_size=8256,
    codebook_size=8192,
)
# the Meissonic VQ-GAN (diffusers VQModel as converted for aMUSEd): 5 levels -> scale factor 16
FULL_VQ = vq_gan(
    block_out_channels=[128, 256, 256, 512, 768],
    layers_per_block=2,
    latent_channels=64,
    sample_size=32,
    num_vq_embeddings=8192,
    norm_num_groups=32,
)
CLIP_H = dict(
    vocab_size=49408,
    hidden_size=1024,
    intermediate_size=4096,
    projection_dim=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
)
GEMMA2_2B = dict(
    vocab_size=256000,
    hidden_size=2304,
    intermediate_size=9216,
    num_hidden_layers=26,
    num_attention_heads=8,
    num_key_value_heads=4,
    head_dim=256,
    query_pre_attn_scalar=256,
    max_position_embeddings=8192,
)
CLIP_STANDIN = {**CLIP_H, "num_hidden_layers": 1}
GEMMA_STANDIN = {**GEMMA2_2B, "num_hidden_layers": 2}
for _cfg in (CLIP_STANDIN, GEMMA_STANDIN):
    _cfg.pop("vocab_size")  # the tiny tokenizers' vocabularies
RESOLUTION = 1024


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _folder_bytes(files) -> int:
    return sum(Path(f).stat().st_size for f in files if Path(f).exists())


# ---- phases (each runs in a child process) ----------------------------------------------------


def phase_build(work: str, with_text: bool) -> dict:
    from .tiny import build_random_checkpoint

    t0 = time.time()
    out = Path(work) / "checkpoint"
    tmp = out.with_name(".checkpoint.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    build_random_checkpoint(
        tmp,
        seed=0,
        transformer=FULL_TRANSFORMER,
        vq=FULL_VQ,
        clip=CLIP_H if with_text else CLIP_STANDIN,
        gemma=GEMMA2_2B if with_text else GEMMA_STANDIN,
        log=lambda m: print(f"  {m} ({time.time() - t0:.0f}s)", flush=True),
    )
    (tmp / "fullsize.json").write_text(json.dumps({"with_text_encoders": with_text}) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return {"seconds": round(time.time() - t0, 1), "peak_rss_bytes": _maxrss_bytes()}


def phase_export(work: str) -> dict:
    """The fp32 export alone (kept in <work>/fp32 and reused by convert), for its own peak RSS."""
    from .checkpoint import load_checkpoint
    from .package import default_attention_blocks, reuse_fp32

    t0 = time.time()
    ckpt = load_checkpoint(Path(work) / "checkpoint")
    sf = ckpt.vae_scale_factor
    grid = (RESOLUTION // sf, RESOLUTION // sf)
    blocks = ckpt.transformer.attention_block_indices(default_attention_blocks(ckpt))
    reuse_fp32(ckpt, Path(work) / "fp32", grid, RESOLUTION, blocks)
    sizes = {p.name: p.stat().st_size for p in sorted((Path(work) / "fp32").glob("*.onnx*"))}
    return {"seconds": round(time.time() - t0, 1), "peak_rss_bytes": _maxrss_bytes(), "fp32_files": sizes}


def phase_convert(work: str, dtypes: list[str]) -> dict:
    from .checkpoint import load_checkpoint
    from .package import write_package

    t0 = time.time()
    source = Path(work) / "checkpoint"
    write_package(
        load_checkpoint(source),
        Path(work) / "package",
        dtypes,
        name="fullsize-random",
        source=str(source),
        resolution=RESOLUTION,
        fp32_dir=Path(work) / "fp32",
    )
    return {"seconds": round(time.time() - t0, 1), "peak_rss_bytes": _maxrss_bytes()}


def step_feeds(manifest: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """Plausible transformer_step inputs at the package's resolution: all target cells masked,
    random reference ids and text states (the cost of a real first step)."""
    cfg = manifest["config"]
    h, w = cfg["resolutions"][str(cfg["resolution"])]["token_grid"]
    rng = np.random.default_rng(seed)
    text = cfg["text"]
    return {
        "tokens": np.full((1, h, w), cfg["mask_token_id"], np.int32),
        "ref_tokens": rng.integers(0, cfg["codebook_size"], (1, h, w), dtype=np.int32),
        "text_states": rng.standard_normal((2, text["llm_length"], text["llm_dim"]), dtype=np.float32),
        "pooled": rng.standard_normal((2, text["clip_dim"]), dtype=np.float32),
        "micro_conds": np.array([cfg["micro_conds"]], np.float32),
        "timestep": np.array([35.0], np.float32),
        "guidance_scale": np.array([6.0], np.float32),
        "ref_bias": np.array([math.log(1.1)], np.float32),
        "text_weights": np.ones(text["llm_length"], np.float32),
        "uniforms": rng.random((1, h * w), dtype=np.float32),
    }


def phase_step(work: str, dtype: str, threads: int) -> dict:
    import onnxruntime as ort  # and nothing of torch: the RSS is onnxruntime's

    from .package import read_manifest

    package = Path(work) / "package"
    manifest = read_manifest(package)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    load_s, sessions = {}, {}
    for graph, entry in manifest["dtypes"][dtype]["graphs"].items():
        t0 = time.time()
        sessions[graph] = ort.InferenceSession(str(package / entry["file"]), opts, providers=["CPUExecutionProvider"])
        load_s[graph] = round(time.time() - t0, 2)
    rss_loaded = _maxrss_bytes()
    feeds = step_feeds(manifest)
    outputs = [o["name"] for o in manifest["graphs"]["transformer_step"]["outputs"]]
    t0 = time.time()
    result = dict(zip(outputs, sessions["transformer_step"].run(outputs, feeds)))
    step_s = time.time() - t0
    cfg = manifest["config"]
    return {
        "session_load_seconds": load_s,
        "step_seconds": round(step_s, 1),
        "readback_bytes": int(sum(v.nbytes for v in result.values())),
        "finite": bool(all(np.isfinite(result[k]).all() for k in ("drawn_probs", "ref_probs", "attention"))),
        "drawn_in_range": bool(((result["drawn_ids"] >= 0) & (result["drawn_ids"] < cfg["codebook_size"])).all()),
        "peak_rss_after_load_bytes": rss_loaded,
        "peak_rss_bytes": _maxrss_bytes(),
    }


# ---- orchestration ------------------------------------------------------------------------------


def _child(phase: str, **kwargs) -> dict:
    """Run ``phase_<phase>(**kwargs)`` in a fresh interpreter; its last stdout line is the result."""
    quiet = "" if phase == "step" else "from editmgt_export.quiet import quiet; quiet(); "
    code = (
        f"import json, sys; {quiet}from editmgt_export.fullsize import phase_{phase} as f; "
        "print('RESULT ' + json.dumps(f(**json.loads(sys.argv[1]))))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(kwargs)], cwd=EXPORT_ROOT, stdout=subprocess.PIPE, text=True
    )
    last = None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            last = json.loads(line[len("RESULT ") :])
        else:
            print(f"  [{phase}] {line.rstrip()}", flush=True)
    if proc.wait() != 0 or last is None:
        raise ExportError(f"full-size {phase} failed (exit {proc.returncode}); see the output above")
    return last


def _node_step(package: Path, dtype: str, threads: int) -> dict:
    npx = shutil.which("npx")
    if npx is None:
        return {"skipped": "npx not found"}
    cmd = [npx, "tsx", str(EXPORT_ROOT / "node" / "fullsizeStep.ts"), str(package), dtype, str(threads)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def graph_sizes(package: Path, manifest: dict) -> dict:
    sizes = {}
    for dtype, entry in manifest["dtypes"].items():
        per = {}
        for graph, files in entry["graphs"].items():
            per[graph] = _folder_bytes([package / p for p in [files["file"], *files.get("external_data", [])]])
        sizes[dtype] = {"graphs": per, "total": sum(per.values())}
    return sizes


def unquantised_matmuls(path: Path) -> int:
    """MatMuls whose weight is still a float constant (0 when the quantiser covered them all)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    floats = {
        t.name for t in model.graph.initializer if t.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
    }
    return sum(
        1 for n in model.graph.node if n.op_type in ("MatMul", "Gemm") and len(n.input) > 1 and n.input[1] in floats
    )


def run_fullsize(
    work: Path,
    dtypes: list[str],
    include_text: bool = False,
    threads: int = 0,
    node: bool = True,
    rebuild: bool = False,
) -> dict:
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "resolution": RESOLUTION,
        "dtypes": dtypes,
        "text_encoders": "full" if include_text else "stand-ins",
        "transformer_config": FULL_TRANSFORMER,
        "vq_config": FULL_VQ,
    }
    marker = work / "checkpoint" / "fullsize.json"
    if rebuild or not marker.exists() or json.loads(marker.read_text())["with_text_encoders"] != include_text:
        print("building the random full-size checkpoint…", flush=True)
        report["build"] = _child("build", work=str(work), with_text=include_text)
    else:
        report["build"] = {"reused": str(work / "checkpoint")}
    print("exporting fp32 graphs…", flush=True)
    report["export_fp32"] = _child("export", work=str(work))
    print(f"converting ({','.join(dtypes)})…", flush=True)
    report["convert"] = _child("convert", work=str(work), dtypes=dtypes)
    package = work / "package"
    from .package import read_manifest

    manifest = read_manifest(package)
    report["sizes"] = graph_sizes(package, manifest)
    report["readback_bytes_per_step"] = manifest["config"]["readback_bytes_per_step"]
    report["unquantised_matmuls"] = {
        d: unquantised_matmuls(package / e["graphs"]["transformer_step"]["file"])
        for d, e in manifest["dtypes"].items()
        if d.startswith("q")
    }
    report["steps"] = {}
    for dtype in dtypes:
        print(f"{dtype}: one transformer_step in onnxruntime (Python)…", flush=True)
        entry = {"python": _child("step", work=str(work), dtype=dtype, threads=threads)}
        if node:
            print(f"{dtype}: one transformer_step in onnxruntime-node…", flush=True)
            entry["node"] = _node_step(package, dtype, threads)
        report["steps"][dtype] = entry
        (work / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    import onnxruntime

    report["onnxruntime"] = onnxruntime.__version__
    report["machine"] = {"cpus": _cpu_count(), "threads": threads or "default"}
    (work / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(summary(report))
    return report


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def summary(report: dict) -> str:
    mb = lambda b: f"{b / 1e6:,.0f} MB"  # noqa: E731
    ex, cv = report["export_fp32"], report["convert"]
    lines = [
        f"fp32 export: {ex['seconds']}s, peak RSS {mb(ex['peak_rss_bytes'])}; "
        f"conversion: {cv['seconds']}s, peak RSS {mb(cv['peak_rss_bytes'])}"
    ]
    for dtype, s in report["sizes"].items():
        lines.append(f"{dtype}: total {mb(s['total'])}; " + ", ".join(f"{g} {mb(b)}" for g, b in s["graphs"].items()))
    for dtype, e in report["steps"].items():
        py, nd = e["python"], e.get("node", {})
        lines.append(
            f"{dtype} step: python {py['step_seconds']}s (peak RSS {mb(py['peak_rss_bytes'])}, finite {py['finite']}), "
            f"node {nd.get('step_ms', '?')} ms {nd.get('error', '')}"
        )
    return "\n".join(lines)
