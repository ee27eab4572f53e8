"""The reference edit pipeline, written plainly, on top of a graph runner.

encode text (negative, instruction) -> VQ-encode the source -> N steps of
[transformer_step graph -> keep known -> region-hold -> Gumbel re-mask] -> VQ-decode.
All randomness comes in as ``draw_u`` and ``gumbel_u`` arrays [N, h*w]. Every step's
intermediate values are recorded (the golden fixtures are these records).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tokenizers import Tokenizer

from . import sampling
from .clip_text import normalize_clip_text

DEFAULT_NEGATIVE_PROMPT = (
    "worst quality, low quality, low res, blurry, distortion, watermark, logo, signature, text, "
    "jpeg artifacts, signature, sketch, duplicate, ugly, identifying mark"
)


@dataclass
class ModelGeometry:
    resolution: int
    token_grid: tuple[int, int]
    transformer_grid: tuple[int, int]
    codebook_size: int
    mask_token_id: int
    clip_length: int = 77
    llm_length: int = 256

    @classmethod
    def from_manifest(cls, manifest: dict) -> ModelGeometry:
        """The geometry a package's manifest declares, at its default resolution."""
        cfg = manifest["config"]
        res = cfg["resolutions"][str(cfg["resolution"])]
        return cls(
            cfg["resolution"],
            tuple(res["token_grid"]),
            tuple(res["transformer_grid"]),
            cfg["codebook_size"],
            cfg["mask_token_id"],
            cfg["text"]["clip_length"],
            cfg["text"]["llm_length"],
        )


def source_pixels(image: Image.Image, resolution: int) -> np.ndarray:
    """The reference's image pre-processing: the opened image squashed to resolution² with
    Pillow's ``Image.resize`` default filter (bicubic; an RGBA image is resized premultiplied),
    then RGB, [0, 1], no normalisation. -> float32 [1, 3, R, R]"""
    if image.size != (resolution, resolution):
        image = image.resize((resolution, resolution))
    rgb = image.convert("RGB")
    return (np.asarray(rgb, dtype=np.float32) / np.float32(255)).transpose(2, 0, 1)[None].copy()


def to_original_size(result: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The decoded edit back at the input's (width, height), bicubic again (Pillow's default)."""
    return result if result.size == tuple(size) else result.resize(tuple(size))


def mask_grid(mask: Image.Image, token_grid: tuple[int, int]) -> np.ndarray:
    """The reference's mask processor: grayscale, Lanczos resize to the token grid (its default
    filter), values / 255 binarised at 0.5. -> bool [h, w], True = regenerate"""
    h, w = token_grid
    grey = mask.convert("L").resize((w, h), Image.LANCZOS)
    return (np.asarray(grey, dtype=np.float32) / np.float32(255)) >= 0.5


@dataclass
class EditRequest:
    prompt: str
    pixels: np.ndarray  # float32 [1, 3, H, W] in [0, 1] at the model resolution
    draw_u: np.ndarray  # float32 [N, h*w]
    gumbel_u: np.ndarray  # float32 [N, h*w]
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT
    guidance_scale: float = 6.0
    reference_strength: float = 1.1
    temperature: tuple[float, float] = (2.0, 0.0)
    region_hold: float = 0.0  # λ; 0 disables
    mask: np.ndarray | None = None  # bool [h, w]: True = regenerate (inpainting mode)
    text_weights: np.ndarray | None = None  # float32 [L]; None = all ones
    schedule: str = "cosine"

    @property
    def num_steps(self) -> int:
        return int(self.draw_u.shape[0])


@dataclass
class EditRecord:
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


class Tokenizers:
    """The package's tokenizer.json files (padding/truncation are configured inside them)."""

    def __init__(self, clip_json: Path, llm_json: Path):
        self.clip = Tokenizer.from_file(str(clip_json))
        self.llm = Tokenizer.from_file(str(llm_json))

    def clip_ids(self, text: str) -> np.ndarray:
        """As the reference's slow CLIP tokenizer: its ftfy normalisation, then BPE."""
        return np.array([self.clip.encode(normalize_clip_text(text)).ids], dtype=np.int64)

    def llm_ids(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        enc = self.llm.encode(text)
        return np.array([enc.ids], dtype=np.int64), np.array([enc.attention_mask], dtype=np.int64)


def encode_prompt(runner, tok: Tokenizers, text: str) -> tuple[np.ndarray, np.ndarray]:
    """-> (text_states [1, L, D_llm], pooled [1, D_clip]). The reference feeds Gemma no attention
    mask, i.e. all ones (padding included), so that is what we pass."""
    ids, _mask = tok.llm_ids(text)
    states = runner.run("text_llm", {"input_ids": ids, "attention_mask": np.ones_like(ids)})["hidden_states"]
    pooled = runner.run("text_clip", {"input_ids": tok.clip_ids(text)})["text_embeds"]
    return states, pooled


def uses_cfg(guidance_scale: float) -> bool:
    """The reference runs classifier-free guidance only above 1; at or below it the negative
    prompt is not encoded and the conditional logits are used alone."""
    return guidance_scale > 1


def run_edit(runner, tok: Tokenizers, geo: ModelGeometry, req: EditRequest) -> dict[str, np.ndarray]:
    h, w = geo.token_grid
    seq = h * w
    n = req.num_steps
    text_states, pooled = encode_prompt(runner, tok, req.prompt)
    if uses_cfg(req.guidance_scale):  # batch [uncond, cond]; else the conditional branch alone
        neg_states, neg_pooled = encode_prompt(runner, tok, req.negative_prompt)
        text_states, pooled = np.concatenate([neg_states, text_states]), np.concatenate([neg_pooled, pooled])
    text_states, pooled = text_states.astype(np.float32), pooled.astype(np.float32)

    src_ids = runner.run("vq_encode", {"pixels": req.pixels.astype(np.float32)})["ids"].reshape(1, h, w)
    ref_ids = src_ids.copy()
    tokens = np.full((1, seq), geo.mask_token_id, dtype=np.int32)
    starting_ratio = 1.0
    if req.mask is not None:
        # reference: the start is the source with masked cells set to the mask id, and (by aliasing)
        # the reference tokens fed to the transformer are masked the same way
        m = req.mask.reshape(-1).astype(bool)
        tokens = src_ids.reshape(1, seq).copy()
        tokens[0, m] = geo.mask_token_id
        ref_ids = tokens.reshape(1, h, w).copy()
        starting_ratio = float(np.float32(m.sum()) / np.float32(seq))

    temps = sampling.temperatures(n, *req.temperature)
    weights = np.ones(geo.llm_length, np.float32) if req.text_weights is None else req.text_weights.astype(np.float32)
    micro = np.array([[geo.resolution, geo.resolution, 0, 0, 6]], dtype=np.float32)
    rec: dict[str, list] = {
        k: []
        for k in (
            "drawn_ids",
            "drawn_probs",
            "ref_probs",
            "attention",
            "attention_raw",
            "attention_smoothed",
            "token_scores",
            "hold_mask",
            "sampled_ids",
            "remasked",
            "tokens_after",
            "mask_len",
        )
    }
    for i in range(n):
        out = runner.run(
            "transformer_step",
            {
                "tokens": tokens.reshape(1, h, w),
                "ref_tokens": ref_ids,
                "text_states": text_states,
                "pooled": pooled,
                "micro_conds": micro,
                "timestep": np.array([n - 1 - i], np.float32),
                "guidance_scale": np.array([req.guidance_scale], np.float32),
                "ref_bias": np.array([math.log(req.reference_strength)], np.float32),
                "text_weights": weights,
                "uniforms": req.draw_u[i : i + 1].astype(np.float32),
            },
        )
        unknown = tokens[0] == geo.mask_token_id
        drawn = out["drawn_ids"][0]
        sampled = np.where(unknown, drawn, tokens[0]).astype(np.int32)
        conf_probs = out["drawn_probs"][0].copy()
        maps = sampling.attention_score_map(out["attention"][0], geo.transformer_grid, geo.token_grid)
        hold = np.zeros(seq, bool)
        if req.region_hold > 0:
            hold = unknown & (maps["token_scores"] < np.float32(req.region_hold))
            sampled = np.where(hold, ref_ids.reshape(-1), sampled).astype(np.int32)
            conf_probs = np.where(hold, out["ref_probs"][0], conf_probs)
        remasked = np.zeros(seq, bool)
        n_mask = 0
        if i < n - 1:
            n_mask = sampling.mask_len(i, n, seq, int(unknown.sum()), starting_ratio, req.schedule)
            logp = np.log(np.maximum(conf_probs.astype(np.float32), np.float32(1e-20)))
            confidence = (logp + temps[i] * sampling.gumbel(req.gumbel_u[i])).astype(np.float32)
            confidence = np.where(unknown, confidence, np.float32(np.inf))
            remasked = sampling.remask(confidence, n_mask)
            tokens = np.where(remasked, geo.mask_token_id, sampled).astype(np.int32)[None]
        else:
            tokens = sampled[None]
        for k, v in (
            ("drawn_ids", drawn),
            ("drawn_probs", out["drawn_probs"][0]),
            ("ref_probs", out["ref_probs"][0]),
            ("attention", out["attention"][0]),
            ("attention_raw", maps["raw"]),
            ("attention_smoothed", maps["smoothed"]),
            ("token_scores", maps["token_scores"]),
            ("hold_mask", hold),
            ("sampled_ids", sampled),
            ("remasked", remasked),
            ("tokens_after", tokens[0]),
            ("mask_len", np.int32(n_mask)),
        ):
            rec[k].append(v)

    final = tokens.reshape(1, h, w).astype(np.int32)
    pixels = runner.run("vq_decode", {"ids": final})["pixels"]
    result = {k: np.stack(v) for k, v in rec.items()}
    result.update(
        {
            "source_ids": src_ids.astype(np.int32),
            "ref_tokens": ref_ids.astype(np.int32),
            "text_states": text_states,
            "pooled": pooled,
            "temperatures": temps,
            "final_ids": final,
            "pixels": pixels.astype(np.float32),
            "starting_mask_ratio": np.array([starting_ratio], np.float32),
        }
    )
    return result
