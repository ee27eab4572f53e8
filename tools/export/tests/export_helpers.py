"""Shared test helpers: paths, golden fixture loading, package geometry.
(A uniquely named module: pytest runs these tests beside other folders' conftest.py.)"""

import json
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REPO = ROOT.parents[1]
TINY_PACKAGE = REPO / "public" / "models" / "tiny-random"
GOLDENS = ROOT / "goldens" / "tiny-random"


def load_index(root: Path = GOLDENS) -> dict:
    return json.loads((root / "index.json").read_text())


def load_array(name: str, root: Path = GOLDENS, index: dict | None = None) -> np.ndarray:
    index = index or load_index(root)
    meta = index["arrays"][name]
    return np.fromfile(root / meta["file"], dtype=np.dtype(meta["dtype"]).newbyteorder("<")).reshape(meta["shape"])


def manifest(package: Path = TINY_PACKAGE) -> dict:
    return json.loads((package / "manifest.json").read_text())


def geometry(package: Path = TINY_PACKAGE):
    from editmgt_export.pipeline import ModelGeometry

    return ModelGeometry.from_manifest(manifest(package))


def tokenizers(package: Path = TINY_PACKAGE):
    from editmgt_export.pipeline import Tokenizers

    return Tokenizers(package / "tokenizer_clip" / "tokenizer.json", package / "tokenizer_llm" / "tokenizer.json")


def step_feeds_along_edit(case: str = "edit_hold_off") -> list[dict]:
    """transformer_step inputs for every step of a golden edit (the reference's own trajectory)."""
    idx = load_index()
    a = lambda n: load_array(n, index=idx)  # noqa: E731
    g = idx["geometry"]
    h, w = g["token_grid"]
    n = idx["cases"][case]["steps"]
    tokens_after = a(f"{case}/tokens_after")
    text_states = np.stack([a("text/negative/hidden_states"), a("text/plain/hidden_states")])
    pooled = np.stack([a("text/negative/text_embeds"), a("text/plain/text_embeds")])
    draw_u = a("uniforms/draw_u")
    feeds = []
    for i in range(n):
        tokens = np.full((1, h * w), g["mask_token_id"], np.int32) if i == 0 else tokens_after[i - 1][None]
        feeds.append(
            {
                "tokens": tokens.reshape(1, h, w).astype(np.int32),
                "ref_tokens": a(f"{case}/ref_tokens").astype(np.int32),
                "text_states": text_states,
                "pooled": pooled,
                "micro_conds": np.array([[g["resolution"], g["resolution"], 0, 0, 6]], np.float32),
                "timestep": np.array([n - 1 - i], np.float32),
                "guidance_scale": np.array([6.0], np.float32),
                "ref_bias": np.array([math.log(1.1)], np.float32),
                "text_weights": np.ones(g["llm_length"], np.float32),
                "uniforms": draw_u[i : i + 1],
            }
        )
    return feeds
