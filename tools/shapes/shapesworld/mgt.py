"""Masked-token training of the EditMGT transformer (the exporter's module, so names match).

Stage ``t2i``: caption → image tokens, no reference. Stage ``edit``: the same weights, now with
the source image's tokens injected through attention (``ref_tokens``; no new parameters),
instruction → target tokens. Both stages: t ~ U(0,1), mask probability p = cos(t·π/2) clipped
below at ``MIN_MASK``, round(256·p) random positions set to the mask id, cross-entropy on masked
positions only, text dropped with probability ``DROP`` for CFG (half of the drops use the empty
prompt, half the reference pipeline's default negative prompt, so either works as the
unconditional branch). Text encoders are trained jointly. Stage ``focus`` continues ``edit`` with
the loss on changed tokens weighted up (see ``FOCUS_CHANGED_WEIGHT``).

Timestep: the reference trains with p·1000 but samples with the step index N−1−i (and the model
multiplies by 1000 inside). At toy scale that mismatch matters, so we feed the value a sampler
with N steps would pass at this mask ratio: N−1−N·(2/π)·acos(p), with N ~ U{8..48}.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from editmgt_export.configs import editmgt_transformer
from editmgt_export.transformer import EditMGTTransformer

from . import text

CODEBOOK = 512
MASK_ID = CODEBOOK  # vocab_size - 1
TRANSFORMER_CONFIG = editmgt_transformer(
    in_channels=64,
    num_layers=1,
    num_single_layers=3,
    attention_head_dim=32,
    num_attention_heads=4,
    joint_attention_dim=text.WIDTH,
    pooled_projection_dim=text.WIDTH,
    axes_dims_rope=[8, 12, 12],
    vocab_size=CODEBOOK + 1,
    codebook_size=CODEBOOK,
)
MICRO_CONDS = [128.0, 128.0, 0.0, 0.0, 6.0]
NEGATIVE_PROMPT = (
    "worst quality, low quality, low res, blurry, distortion, watermark, logo, signature, text, "
    "jpeg artifacts, signature, sketch, duplicate, ugly, identifying mark"
)
MIN_MASK = 0.05
DROP = 0.1
BATCH = 32
LR = 6e-4
SEQ = 256
FOCUS_CHANGED_WEIGHT = 4.0


class Stage(NamedTuple):
    id: int  # seeds the stage's batches
    init: str | None  # the stage whose final weights it starts from (None: fresh weights)
    task: str  # the data it learns: "t2i" (caption → tokens) or "edit" (instruction + source → target)
    lr: float
    changed_weight: float  # loss weight of masked tokens that the edit changes (1: plain mean)


# Stage ``focus`` continues the editing stage with the loss on tokens the edit changes weighted up:
# in a local edit 90 % of the target tokens are copies of the source, so the plain loss is mostly
# about copying, and the model learns removals (the easiest change) but barely adds or recolours.
STAGES = {
    "t2i": Stage(1, None, "t2i", LR, 1.0),
    "edit": Stage(2, "t2i", "edit", LR, 1.0),
    "focus": Stage(3, "edit", "edit", 3e-4, FOCUS_CHANGED_WEIGHT),
}


def tokenizers(work: Path):
    """Build once from the generator's vocabulary; cached as tokenizer.json files."""
    from tokenizers import Tokenizer

    folder = work / "tokenizers"
    if not (folder / "llm" / "tokenizer.json").is_file():
        lines = text.corpus()
        text.save_tokenizer(text.build_clip_tokenizer(lines), folder / "clip", "clip")
        text.save_tokenizer(text.build_gemma_tokenizer(lines), folder / "llm", "gemma")
    return Tokenizer.from_file(str(folder / "clip" / "tokenizer.json")), Tokenizer.from_file(
        str(folder / "llm" / "tokenizer.json")
    )


def build_models(work: Path, seed: int = 0):
    torch.manual_seed(seed)
    clip_tok, llm_tok = tokenizers(work)
    return EditMGTTransformer(**TRANSFORMER_CONFIG), text.TextEncoders(clip_tok, llm_tok)


def timestep_for(p: np.ndarray, n_steps: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, n_steps - 1 - n_steps * (2 / math.pi) * np.arccos(np.clip(p, 0, 1)))


def make_batch(rng: np.random.Generator, tokens: np.ndarray, stage: str, n: int, batch: int = BATCH):
    """Indices, which image of the pair is the target, and the mask/timestep draw for one batch."""
    idx = rng.integers(0, n, batch)
    side = rng.integers(0, 2, batch) if stage == "t2i" else np.ones(batch, np.int64)
    p = np.clip(np.cos(rng.random(batch) * math.pi / 2), MIN_MASK, 1.0)
    k = np.maximum(1, np.round(SEQ * p)).astype(np.int64)
    ranks = np.argsort(np.argsort(rng.random((batch, SEQ)), axis=1), axis=1)
    masked = ranks < k[:, None]
    ts = timestep_for(p, rng.integers(8, 49, batch).astype(np.float64))
    drop = rng.random(batch) < DROP
    return idx, side, masked, ts, drop


def forward_loss(model, encoders, text_ids, tokens, batch, stage, changed_weight: float = 1.0):
    """Masked CE on one batch. text_ids = (clip, llm, llm_mask) rows indexed like ``text_index``,
    on the device the model is on. With ``changed_weight`` ≠ 1 (edit data only), masked positions
    whose target token differs from the source's count that many times as much (a weighted mean)."""
    idx, side, masked, ts, drop, text_rows = batch
    dev = text_ids[0].device
    tgt = torch.from_numpy(tokens[idx, side].astype(np.int64)).to(dev)
    ref = torch.from_numpy(tokens[idx, 0].astype(np.int64)).to(dev) if stage == "edit" else None
    m = torch.from_numpy(masked).reshape(-1, 16, 16).to(dev)
    inp = torch.where(m, torch.full_like(tgt, MASK_ID), tgt)
    clip_ids, llm_ids, llm_mask = (t[text_rows.to(dev)] for t in text_ids)
    seq, pooled = encoders(clip_ids, llm_ids, llm_mask)
    micro = torch.tensor([MICRO_CONDS], device=dev).repeat(len(idx), 1)
    logits, _ = model(inp, seq, pooled, micro, torch.from_numpy(ts).float().to(dev), ref_tokens=ref)
    logits = logits.permute(0, 2, 3, 1)[m]
    if changed_weight != 1.0 and ref is not None:
        w = torch.where((tgt != ref)[m], changed_weight, 1.0)
        loss = (F.cross_entropy(logits, tgt[m], reduction="none") * w).sum() / w.sum()
    else:
        loss = F.cross_entropy(logits, tgt[m])
    acc = (logits.argmax(-1) == tgt[m]).float().mean()
    return loss, acc, logits, tgt, m, ref


def _texts(texts, stage):
    """All texts of the stage (row i*2+side for t2i captions, row i for edit instructions), then
    the two unconditional rows: '' and the negative prompt."""
    if stage == "t2i":
        rows = [t for e in texts for t in (e["source_caption"], e["target_caption"])]
    else:
        rows = [e["instruction"] for e in texts]
    return rows + ["", NEGATIVE_PROMPT]


def _text_rows(idx, side, drop, stage, n_rows):
    rows = idx * 2 + side if stage == "t2i" else idx.copy()
    rows[drop] = n_rows - 2 + (idx[drop] % 2)  # '' or the negative prompt
    return torch.from_numpy(rows)


@torch.no_grad()
def validate(model, encoders, work: Path, stage: str, count: int = 128, device: str = "cpu") -> dict:
    from .data import load_split

    stage = STAGES[stage].task
    _, texts = load_split(work / "val")
    tokens = np.load(work / "val" / "tokens.npy")[:count]
    count = len(tokens)
    clip_tok, llm_tok = tokenizers(work)
    rows = _texts(texts[:count], stage)
    text_ids = tuple(t.to(device) for t in text.encode_texts(clip_tok, llm_tok, rows))
    model.eval(), encoders.eval()
    rng = np.random.default_rng([7, STAGES[stage].id])
    tot = {"loss": 0.0, "acc": 0.0, "acc_changed": [0, 0], "acc_kept": [0, 0]}
    nb = 0
    for s in range(0, count, BATCH):
        idx = np.arange(s, min(s + BATCH, count))
        b = len(idx)
        side = np.ones(b, np.int64)
        p = np.clip(np.cos(rng.random(b) * math.pi / 2), MIN_MASK, 1.0)
        k = np.maximum(1, np.round(SEQ * p)).astype(np.int64)
        masked = np.argsort(np.argsort(rng.random((b, SEQ)), axis=1), axis=1) < k[:, None]
        ts = timestep_for(p, np.full(b, 16.0))
        drop = np.zeros(b, bool)
        batch = (idx, side, masked, ts, drop, _text_rows(idx, side, drop, stage, len(rows)))
        loss, acc, logits, tgt, m, _ = forward_loss(model, encoders, text_ids, tokens, batch, stage)
        tot["loss"] += loss.item()
        tot["acc"] += acc.item()
        nb += 1
        if stage == "edit":
            changed = torch.from_numpy(tokens[idx, 0] != tokens[idx, 1]).to(m.device)[m]
            right = logits.argmax(-1) == tgt[m]
            tot["acc_changed"][0] += int(right[changed].sum())
            tot["acc_changed"][1] += int(changed.sum())
            tot["acc_kept"][0] += int(right[~changed].sum())
            tot["acc_kept"][1] += int((~changed).sum())
    model.train(), encoders.train()
    out = {"val_loss": round(tot["loss"] / nb, 4), "val_token_acc": round(tot["acc"] / nb, 4)}
    if stage == "edit":
        out["val_acc_changed_tokens"] = round(tot["acc_changed"][0] / max(1, tot["acc_changed"][1]), 4)
        out["val_acc_unchanged_tokens"] = round(tot["acc_kept"][0] / max(1, tot["acc_kept"][1]), 4)
    return out


def train_stage(
    work: Path,
    stage: str,
    steps: int,
    log=print,
    seed: int = 0,
    device: str = "cpu",
    batch: int = BATCH,
    lr_scale: float = 1.0,
    save_every: int = 250,
    mirror: Path | None = None,
) -> dict:
    """Train one stage for ``steps`` steps of ``batch`` pairs. The defaults are the CPU recipe; a
    larger batch (with ``lr_scale``) on an accelerator is the GPU profile. ``mirror``: a folder
    that gets a weights-only copy at every save and at the end (``<stage>.pt``)."""
    from .data import load_split

    cfg = STAGES[stage]
    task, lr = cfg.task, cfg.lr * lr_scale
    _, texts = load_split(work / "train")
    tokens = np.load(work / "train" / "tokens.npy")
    n = len(tokens)
    texts = texts[:n]
    clip_tok, llm_tok = tokenizers(work)
    rows = _texts(texts, task)
    text_ids = tuple(t.to(device) for t in text.encode_texts(clip_tok, llm_tok, rows))
    model, encoders = build_models(work, seed)
    model.to(device), encoders.to(device)
    if cfg.init:
        init = torch.load(work / f"{cfg.init}_final.pt", map_location=device)
        model.load_state_dict(init["transformer"]), encoders.load_state_dict(init["text"])
    params = list(model.parameters()) + list(encoders.parameters())
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), weight_decay=0.01)
    state_path = work / f"{stage}_state.pt"
    start = 0
    if state_path.is_file():
        st = torch.load(state_path, map_location=device)
        model.load_state_dict(st["transformer"]), encoders.load_state_dict(st["text"]), opt.load_state_dict(st["opt"])
        start = st["step"]
        log(f"{stage}: resumed at step {start}")
    model.train(), encoders.train()
    log_path = work / f"{stage}_log.jsonl"
    t0 = time.time()
    run_loss = run_acc = 0.0
    last = {}
    with log_path.open("a") as logf:
        for step in range(start, steps):
            warm = min(1.0, (step + 1) / 100)
            for g in opt.param_groups:
                g["lr"] = lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
            rng = np.random.default_rng([seed, cfg.id, step])
            idx, side, masked, ts, drop = make_batch(rng, tokens, task, n, batch)
            draw = (idx, side, masked, ts, drop, _text_rows(idx, side, drop, task, len(rows)))
            loss, acc, *_ = forward_loss(model, encoders, text_ids, tokens, draw, task, cfg.changed_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            run_loss += loss.item()
            run_acc += acc.item()
            if (step + 1) % 50 == 0:
                last = {
                    "step": step + 1,
                    "loss": round(run_loss / 50, 4),
                    "acc": round(run_acc / 50, 4),
                    "lr": round(opt.param_groups[0]["lr"], 6),
                    "sec": round(time.time() - t0, 1),
                }
                run_loss = run_acc = 0.0
                if (step + 1) % 500 == 0 or step + 1 == steps:
                    last.update(validate(model, encoders, work, stage, device=device))
                logf.write(json.dumps(last) + "\n")
                logf.flush()
                log(f"{stage} {last}")
            if (step + 1) % save_every == 0 or step + 1 == steps:
                torch.save(
                    {
                        "transformer": model.state_dict(),
                        "text": encoders.state_dict(),
                        "opt": opt.state_dict(),
                        "step": step + 1,
                    },
                    state_path,
                )
                if mirror is not None:
                    torch.save(_weights(model, encoders), mirror / f"{stage}.pt")
    loop_seconds = time.time() - t0
    torch.save(_weights(model, encoders), work / f"{stage}_final.pt")
    if mirror is not None:
        torch.save(_weights(model, encoders), mirror / f"{stage}.pt")
    final = validate(model, encoders, work, stage, count=256, device=device)
    return {
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "device": device,
        "train_seconds_this_run": round(time.time() - t0, 1),
        "loop_seconds": round(loop_seconds, 2),
        "final_train": last,
        **final,
    }


def _weights(model, encoders) -> dict:
    """Weights only, on the CPU (what the hub checkpoint and the next stage read)."""
    cpu = lambda sd: {k: v.detach().cpu() for k, v in sd.items()}  # noqa: E731
    return {"transformer": cpu(model.state_dict()), "text": cpu(encoders.state_dict())}
