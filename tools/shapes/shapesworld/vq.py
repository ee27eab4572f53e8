"""The small VQModel (128 px ⇄ 16×16 tokens, codebook 512) and its training.

Pixels are in [0, 1] with no normalisation, as the EditMGT pipeline feeds them. The decoder uses
spatial normalisation (its norms are modulated by the quantised latents): with plain GroupNorm a
flat-coloured region normalises to the same features whatever its colour, and the colours of
this world's plain backgrounds and shapes were learned very slowly. (Spatial norms group by 32,
hence 32 channels at full resolution.) Training uses
random 48×48 crops (the model is fully convolutional; a crop is 4×4 tokens), L1 + MSE + the quantiser's commitment
loss. The first ``warmup`` steps train a plain autoencoder (no quantiser), then the codebook is
initialised by k-means on encoder outputs; afterwards entries unused for a window are restarted
with random encoder outputs. This converges several times faster than quantising from step 0.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from editmgt_export.configs import vq_gan

VQ_CONFIG = vq_gan(
    block_out_channels=[32, 32, 64, 64],
    layers_per_block=1,
    latent_channels=32,
    sample_size=128,
    num_vq_embeddings=512,
    norm_num_groups=8,
    norm_type="spatial",
)


def build_vq():
    from diffusers import VQModel

    return VQModel(**VQ_CONFIG)


def to_pixels(batch_uint8: np.ndarray) -> torch.Tensor:
    """uint8 [B, H, W, 3] -> float [B, 3, H, W] in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(batch_uint8)).permute(0, 3, 1, 2).float() / 255.0


@torch.no_grad()
def encode_ids(vq, pixels: torch.Tensor) -> torch.Tensor:
    """pixels [B, 3, 128, 128] -> ids [B, 16, 16] (the same path as the exported vq_encode)."""
    latents = vq.encode(pixels).latents
    b, _, h, w = latents.shape
    return vq.quantize(latents)[2][2].reshape(b, h, w)


@torch.no_grad()
def decode_ids(vq, ids: torch.Tensor) -> torch.Tensor:
    b, h, w = ids.shape
    c = vq.config.vq_embed_dim or vq.config.latent_channels
    out = vq.decode(ids.reshape(b, h * w), force_not_quantize=True, shape=(b, h, w, c)).sample
    return out.clamp(0, 1)


def kmeans_init(codebook: torch.Tensor, latents: torch.Tensor, rng: np.random.Generator, iters: int = 12) -> None:
    """Set ``codebook`` [K, C] to k-means centres of ``latents`` [M, C] (M ≥ K)."""
    k = codebook.shape[0]
    centres = latents[torch.from_numpy(rng.choice(latents.shape[0], k, replace=False))].clone()
    for _ in range(iters):
        assign = torch.cdist(latents, centres).argmin(1)
        sums = torch.zeros_like(centres).index_add_(0, assign, latents)
        counts = torch.bincount(assign, minlength=k).float()
        empty = counts == 0
        centres = torch.where(
            empty[:, None],
            latents[torch.from_numpy(rng.integers(0, latents.shape[0], k))],
            sums / counts.clamp_min(1)[:, None],
        )
    codebook.data.copy_(centres)


def train_vq(
    images: np.ndarray,
    out: Path,
    steps: int,
    batch: int = 8,
    crop: int = 48,
    lr: float = 1e-3,
    warmup: int = 250,
    seed: int = 0,
    log=print,
) -> dict:
    """images: uint8 [N, 2, 128, 128, 3] (memmap). Saves ``out/vq.pt``; returns stats."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    vq = build_vq()
    opt = torch.optim.Adam(vq.parameters(), lr=lr, betas=(0.9, 0.99))
    codebook = vq.quantize.embedding.weight
    usage = torch.zeros(codebook.shape[0])
    n = images.shape[0]
    t0 = time.time()
    losses = []
    with (out / "vq_log.jsonl").open("w") as logf:
        for step in range(steps):
            for g in opt.param_groups:
                g["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
            idx = rng.integers(0, n, batch)
            side = rng.integers(0, 2, batch)
            ys, xs = rng.integers(0, 128 - crop + 1, (2, batch)) // 8 * 8
            crops = np.stack([images[i, s, y : y + crop, x : x + crop] for i, s, y, x in zip(idx, side, ys, xs)])
            x = to_pixels(crops)
            if step == warmup:
                with torch.no_grad():
                    pool = np.stack([images[i, s] for i, s in zip(rng.integers(0, n, 48), rng.integers(0, 2, 48))])
                    lat = vq.encode(to_pixels(pool)).latents
                    kmeans_init(codebook, lat.permute(0, 2, 3, 1).reshape(-1, lat.shape[1]), rng)
                log("vq: codebook initialised by k-means")
            latents = vq.encode(x).latents
            if step < warmup:  # plain autoencoder
                rec, commit = vq.decoder(vq.post_quant_conv(latents), latents), latents.pow(2).mean() * 1e-3
                ids = torch.zeros(1, dtype=torch.long)
            else:
                dec = vq.decode(latents)  # quantises (straight-through) and returns the commitment loss
                rec, commit = dec.sample, dec.commit_loss.mean()
                with torch.no_grad():
                    ids = vq.quantize(latents)[2][2]
            l1 = (rec - x).abs().mean()
            mse = (rec - x).pow(2).mean()
            loss = l1 + mse + commit
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            usage += torch.bincount(ids.flatten(), minlength=codebook.shape[0]).float()
            if (step + 1) % 50 == 0:
                dead = (usage == 0).nonzero().flatten()
                if step >= warmup and len(dead) and step + 1 < steps * 0.8:
                    flat = latents.detach().permute(0, 2, 3, 1).reshape(-1, latents.shape[1])
                    pick = torch.from_numpy(rng.integers(0, flat.shape[0], len(dead)))
                    with torch.no_grad():
                        codebook[dead] = flat[pick] + 0.01 * torch.randn(len(dead), flat.shape[1])
                psnr = -10 * math.log10(max(mse.item(), 1e-10))
                rec_ = {
                    "step": step + 1,
                    "loss": round(loss.item(), 5),
                    "l1": round(l1.item(), 5),
                    "psnr": round(psnr, 2),
                    "codes_used": int((usage > 0).sum()),
                    "restarted": len(dead) if step >= warmup else 0,
                    "sec": round(time.time() - t0, 1),
                    "cpu_sec": round(time.process_time(), 1),
                }
                losses.append(rec_)
                logf.write(json.dumps(rec_) + "\n")
                logf.flush()
                log(f"vq {rec_}")
                usage.zero_()
    vq.eval()
    torch.save(vq.state_dict(), out / "vq.pt")
    return {"seconds": round(time.time() - t0, 1), "final": losses[-1] if losses else None}


def load_vq(out: Path):
    vq = build_vq()
    vq.load_state_dict(torch.load(out / "vq.pt"))
    return vq.eval()


@torch.no_grad()
def reconstruction_psnr(vq, images: np.ndarray, count: int = 64) -> float:
    x = to_pixels(images[:count, 1])
    rec = decode_ids(vq, encode_ids(vq, x))
    mse = (rec - x).pow(2).mean(dim=(1, 2, 3))
    return float((-10 * torch.log10(mse.clamp_min(1e-10))).mean())


@torch.no_grad()
def encode_split(vq, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """All images of a split -> int16 tokens [N, 2, 16, 16] (on the device ``vq`` is on)."""
    n = images.shape[0]
    dev = next(vq.parameters()).device
    out = np.zeros((n, 2, 16, 16), np.int16)
    for s in range(0, n, batch):
        chunk = images[s : s + batch]
        b = chunk.shape[0]
        ids = encode_ids(vq, to_pixels(chunk.reshape(b * 2, 128, 128, 3)).to(dev))
        out[s : s + b] = ids.reshape(b, 2, 16, 16).cpu().numpy().astype(np.int16)
    return out
