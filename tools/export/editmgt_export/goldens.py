"""Golden fixtures for the TypeScript engine, from the PyTorch reference on the tiny model.

Layout: goldens/<model>/index.json describes every array (file, dtype, shape) and how it was
generated; arrays are raw little-endian .bin files. Integer arrays compare exactly, floats with
the tolerances in index.json.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from .external_data import current_umask
from .pipeline import DEFAULT_NEGATIVE_PROMPT, EditRequest, ModelGeometry, Tokenizers, encode_prompt, run_edit, uses_cfg

STEPS = 8
PROMPTS = {
    "empty": "",
    "plain": "make the car blue",
    "unicode": "Ünïcödé café — 東京 🐱 naïve",
    "long77": " ".join(["replace the red hat with a green umbrella"] * 12),
    "long256": " ".join(["turn the quick brown fox into a purple dragon"] * 60),
}
HOLD_LAMBDA = 0.3


def golden_image(size: int = 64) -> np.ndarray:
    """Deterministic RGB uint8 test image: gradient sky, green ground, red disc, blue square."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    img = np.zeros((size, size, 3))
    img[..., 0] = 0.35 + 0.3 * x
    img[..., 1] = 0.55 + 0.25 * y
    img[..., 2] = 0.95 - 0.3 * y
    ground = y > 0.65
    img[ground] = [0.2, 0.55, 0.2]
    disc = (x - 0.3) ** 2 + (y - 0.4) ** 2 < 0.15**2
    img[disc] = [0.9, 0.15, 0.1]
    square = (abs(x - 0.72) < 0.12) & (abs(y - 0.7) < 0.12)
    img[square] = [0.1, 0.2, 0.85]
    return np.round(img * 255).astype(np.uint8)


def golden_mask(h: int, w: int) -> np.ndarray:
    """Inpainting mask on the token grid: the centre quarter (True = regenerate)."""
    m = np.zeros((h, w), bool)
    m[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
    return m


class _Writer:
    def __init__(self, root: Path):
        self.root = root
        self.arrays: dict[str, dict] = {}

    def add(self, name: str, array: np.ndarray) -> None:
        a = np.asarray(array)
        if a.dtype == np.bool_:
            a = a.astype(np.uint8)
        if a.dtype == np.int64:
            a = a.astype(np.int32)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        dtype = {np.dtype("float32"): "float32", np.dtype("int32"): "int32", np.dtype("uint8"): "uint8"}[a.dtype]
        path = self.root / f"{name}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(a.astype(a.dtype.newbyteorder("<")).tobytes())
        self.arrays[name] = {"file": f"{name}.bin", "dtype": dtype, "shape": list(a.shape)}


def _uniforms(seed: int, n: int, seq: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.random((n, seq), dtype=np.float32), rng.random((n, seq), dtype=np.float32)


def compute_goldens(runner, tok: Tokenizers, geo: ModelGeometry, seed: int = 0) -> dict:
    """All golden arrays as {name: array} plus case metadata."""
    h, w = geo.token_grid
    seq = h * w
    arrays: dict[str, np.ndarray] = {}
    for key, text in PROMPTS.items():
        ids, mask = tok.llm_ids(text)
        arrays[f"tokenizer/{key}/clip_ids"] = tok.clip_ids(text)[0]
        arrays[f"tokenizer/{key}/llm_ids"] = ids[0]
        arrays[f"tokenizer/{key}/llm_attention_mask"] = mask[0]
    for key, text in (("negative", DEFAULT_NEGATIVE_PROMPT), ("plain", PROMPTS["plain"])):
        states, pooled = encode_prompt(runner, tok, text)
        arrays[f"text/{key}/hidden_states"] = states[0]
        arrays[f"text/{key}/text_embeds"] = pooled[0]

    image = golden_image(geo.resolution)
    pixels = (image.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    arrays["image/pixels"] = pixels
    arrays["image/vq_ids"] = runner.run("vq_encode", {"pixels": pixels})["ids"]
    arrays["image/decoded"] = runner.run("vq_decode", {"ids": arrays["image/vq_ids"]})["pixels"]

    draw_u, gumbel_u = _uniforms(seed, STEPS, seq)
    arrays["uniforms/draw_u"] = draw_u
    arrays["uniforms/gumbel_u"] = gumbel_u
    cases = {
        "edit_hold_off": dict(region_hold=0.0, mask=None),
        "edit_hold_on": dict(region_hold=HOLD_LAMBDA, mask=None),
        "edit_mask": dict(region_hold=0.0, mask=golden_mask(h, w)),
        # guidance <= 1: no CFG (the conditional branch alone, no negative prompt encoded)
        "edit_guidance_half": dict(region_hold=HOLD_LAMBDA, mask=None, guidance_scale=0.5),
        "edit_guidance_one": dict(region_hold=0.0, mask=None, guidance_scale=1.0),
    }
    meta = {}
    for case, opts in cases.items():
        req = EditRequest(prompt=PROMPTS["plain"], pixels=pixels, draw_u=draw_u, gumbel_u=gumbel_u, **opts)
        rec = run_edit(runner, tok, geo, req)
        for k, v in rec.items():
            if k in ("text_states", "pooled"):
                continue
            arrays[f"{case}/{k}"] = v
        if opts["mask"] is not None:
            arrays[f"{case}/mask"] = opts["mask"].reshape(-1)
        meta[case] = {
            "prompt": req.prompt,
            "negative_prompt": "default",
            "steps": STEPS,
            "guidance_scale": req.guidance_scale,
            "reference_strength": req.reference_strength,
            "ref_bias": float(np.float32(math.log(req.reference_strength))),
            "cfg": uses_cfg(req.guidance_scale),
            "temperature": list(req.temperature),
            "region_hold": req.region_hold,
            "mask": opts["mask"] is not None,
            "schedule": req.schedule,
            "text_weights": "ones",
        }

    # one transformer_step call in isolation (step 0 of edit_hold_off, plus a mid-loop state)
    one = {
        "tokens": arrays["edit_hold_off/tokens_after"][2].reshape(1, h, w).astype(np.int32),
        "ref_tokens": arrays["image/vq_ids"].astype(np.int32),
        "text_states": np.concatenate(
            [arrays["text/negative/hidden_states"][None], arrays["text/plain/hidden_states"][None]]
        ),
        "pooled": np.stack([arrays["text/negative/text_embeds"], arrays["text/plain/text_embeds"]]),
        "micro_conds": np.array([[geo.resolution, geo.resolution, 0, 0, 6]], np.float32),
        "timestep": np.array([STEPS - 1 - 3], np.float32),
        "guidance_scale": np.array([6.0], np.float32),
        "ref_bias": np.array([math.log(1.1)], np.float32),
        "text_weights": np.concatenate([np.ones(8, np.float32), np.zeros(geo.llm_length - 8, np.float32)]),
        "uniforms": draw_u[3:4],
    }
    out = runner.run("transformer_step", one)
    for k, v in one.items():
        arrays[f"step/inputs/{k}"] = v
    for k, v in out.items():
        arrays[f"step/outputs/{k}"] = v
    return {"arrays": arrays, "cases": meta}


def write_goldens(package: Path, out: Path, seed: int = 0) -> None:
    import diffusers
    import onnxruntime
    import torch
    import transformers

    from .checkpoint import load_checkpoint
    from .package import read_manifest
    from .runners import TorchRunner
    from .tiny import build_tiny_checkpoint

    manifest = read_manifest(package)
    tiny_seed = int(manifest["source"]["id"].rsplit(" ", 1)[-1])
    cfg = manifest["config"]
    geo = ModelGeometry.from_manifest(manifest)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = load_checkpoint(build_tiny_checkpoint(Path(tmp) / "ckpt", tiny_seed))
        runner = TorchRunner(ckpt, geo.token_grid, geo.llm_length, cfg["attention_blocks"])
        tok = Tokenizers(package / "tokenizer_clip" / "tokenizer.json", package / "tokenizer_llm" / "tokenizer.json")
        result = compute_goldens(runner, tok, geo, seed)

    out = Path(out)
    tmp_out = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent if out.parent.exists() else None))
    os.chmod(tmp_out, 0o777 & ~current_umask())
    writer = _Writer(tmp_out)
    for name, arr in result["arrays"].items():
        writer.add(name, arr)
    Image.fromarray(golden_image(geo.resolution)).save(tmp_out / "image" / "source.png")
    index = {
        "format_version": 1,
        "model": manifest["name"],
        "generated_by": {
            "command": f"cd tools/export && .venv/bin/python -m editmgt_export goldens --seed {seed}",
            "runner": "PyTorch reference (editmgt_export.pipeline + graphs), float32, CPU",
            "tiny_checkpoint_seed": tiny_seed,
            "uniform_seed": seed,
            "uniforms": "numpy PCG64(seed).random float32: draw_u then gumbel_u",
            "versions": {
                "torch": torch.__version__,
                "diffusers": diffusers.__version__,
                "transformers": transformers.__version__,
                "onnxruntime": onnxruntime.__version__,
                "numpy": np.__version__,
            },
        },
        "geometry": {
            "resolution": geo.resolution,
            "token_grid": list(geo.token_grid),
            "transformer_grid": list(geo.transformer_grid),
            "codebook_size": geo.codebook_size,
            "mask_token_id": geo.mask_token_id,
            "clip_length": geo.clip_length,
            "llm_length": geo.llm_length,
        },
        "prompts": PROMPTS,
        "negative_prompt": DEFAULT_NEGATIVE_PROMPT,
        "cases": result["cases"],
        "notes": {
            "ids": "token ids are stored as int32 (the text graphs take int64)",
            "bool": "boolean masks are stored as uint8 0/1",
            "edit arrays": "per step i: drawn_ids/drawn_probs/ref_probs/attention = transformer_step outputs; "
            "attention_raw = min-max rescaled; attention_smoothed = adaptive smoothing (transformer grid); "
            "token_scores = bicubic upsample to the token grid; hold_mask = region-hold swaps; "
            "sampled_ids = tokens after keep-known + region-hold; remasked = Gumbel re-mask selection; "
            "tokens_after = input of step i+1; mask_len = re-mask count (0 on the last step)",
            "guidance": "cases with cfg false (guidance_scale <= 1) run the conditional branch alone and never "
            "encode the negative prompt, as the reference; text_states / pooled are then [1, ...]",
            "mask mode": "ref_tokens = source ids with the masked cells set to mask_token_id (as the reference); "
            "starting_mask_ratio = masked fraction; region-hold off",
            "image": "image/source.png is image/pixels (x255); pixels are [1,3,H,W] in [0,1]",
        },
        "tolerances": {"float_abs": 1e-4, "attention_abs": 1e-5, "pixels_abs": 1e-4},
        "arrays": writer.arrays,
    }
    (tmp_out / "index.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n")
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out.rename(out)
