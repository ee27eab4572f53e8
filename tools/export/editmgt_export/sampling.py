"""Engine-side math of one sampling step, on the transformer_step graph's outputs.

Same order and float32 arithmetic as the reference scheduler/pipeline (and the TypeScript
engine): keep known tokens, region-hold, then (unless last step) Gumbel re-masking.
All randomness is passed in as uniforms.
"""

from __future__ import annotations

import math

import numpy as np

f32 = np.float32


def temperatures(num_steps: int, start: float = 2.0, end: float = 0.0) -> np.ndarray:
    """τ_i linearly spaced from start to end over the steps (the reference's torch.linspace, float32;
    the goldens store the values, which may differ from a naive formula in the last bit)."""
    import torch

    return torch.linspace(start, end, num_steps, dtype=torch.float32).numpy()


def mask_len(
    step: int,
    num_steps: int,
    seq_len: int,
    unknown_count: int,
    starting_mask_ratio: float = 1.0,
    schedule: str = "cosine",
) -> int:
    """How many positions to re-mask after step ``step`` (float32 like the reference)."""
    ratio = f32(step + 1) / f32(num_steps)
    if schedule == "cosine":
        mask_ratio = f32(np.cos(f32(ratio * f32(math.pi)) / f32(2)))
    elif schedule == "linear":
        mask_ratio = f32(1) - ratio
    else:
        raise ValueError(f"unknown masking schedule {schedule}")
    mask_ratio = f32(f32(starting_mask_ratio) * mask_ratio)
    n = int(np.floor(f32(seq_len) * mask_ratio))
    return max(1, min(unknown_count - 1, n))


def gumbel(u: np.ndarray) -> np.ndarray:
    """Gumbel noise from uniforms: −log(max(−log(max(u, 1e−20)), 1e−20)), float32."""
    u = np.maximum(u.astype(f32), f32(1e-20))
    return (-np.log(np.maximum(-np.log(u), f32(1e-20)))).astype(f32)


def remask(confidence: np.ndarray, n: int) -> np.ndarray:
    """Boolean mask of the positions strictly below the n-th smallest confidence (0-based)."""
    cut = np.sort(confidence)[n]
    return confidence < cut


def rescale(scores: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] with +1e−8 in the denominator."""
    lo, hi = scores.min(), scores.max()
    return ((scores - lo) / (hi - lo + f32(1e-8))).astype(f32)


def _reflect_index(i: np.ndarray, n: int) -> np.ndarray:
    """scipy 'reflect' (half-sample symmetric) border: d c b a | a b c d | d c b a."""
    period = 2 * n
    i = np.mod(i, period)
    return np.where(i < n, i, period - 1 - i)


def gaussian_blur(img: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Separable Gaussian (scipy.ndimage.gaussian_filter semantics, reflect borders), float64."""
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    out = img.astype(np.float64)
    for axis in (0, 1):
        n = out.shape[axis]
        idx = _reflect_index(np.arange(n)[:, None] + x[None, :], n)  # [n, taps]
        gathered = np.take(out, idx, axis=axis)  # axis expanded to [n, taps]
        out = np.tensordot(gathered, kernel, axes=([axis + 1], [0])) if axis == 0 else (gathered * kernel).sum(-1)
    return out


def local_variance(img: np.ndarray, size: int = 5) -> np.ndarray:
    """Population variance over a size×size window, reflect borders (scipy generic_filter(np.var))."""
    h, w = img.shape
    r = size // 2
    rows = _reflect_index(np.arange(h)[:, None] + np.arange(-r, r + 1)[None, :], h)
    cols = _reflect_index(np.arange(w)[:, None] + np.arange(-r, r + 1)[None, :], w)
    win = img.astype(np.float64)[rows[:, None, :, None], cols[None, :, None, :]]  # [h, w, size, size]
    return win.reshape(h, w, -1).var(axis=-1)


def adaptive_smooth(scores: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Reference 'adaptive' smoothing with peak preservation and range restore. scores [gh, gw]."""
    orig = scores.astype(np.float64)
    gauss = gaussian_blur(orig, sigma=strength * 1.5)
    var = local_variance(orig, 5)
    var = (var - var.min()) / (var.max() - var.min() + 1e-8)
    weight = 1.0 - 0.7 * var
    smoothed = weight * gauss + (1 - weight) * orig
    peaks = orig > np.percentile(orig, 90)
    smoothed[peaks] = 0.7 * orig[peaks] + 0.3 * smoothed[peaks]
    if smoothed.max() > smoothed.min():
        smoothed = (smoothed - smoothed.min()) / (smoothed.max() - smoothed.min())
        smoothed = smoothed * (orig.max() - orig.min()) + orig.min()
    return smoothed.astype(f32)


def bicubic_upsample(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """torch F.interpolate(mode='bicubic', align_corners=False), A = −0.75, clamped borders."""

    def weights(in_n: int, out_n: int):
        scale = in_n / out_n
        src = (np.arange(out_n) + 0.5) * scale - 0.5
        i0 = np.floor(src).astype(int)
        t = src - i0
        a = -0.75

        def cc1(x):
            return ((a + 2) * x - (a + 3)) * x * x + 1

        def cc2(x):
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

        ws = np.stack([cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)], axis=1)
        idx = np.clip(i0[:, None] + np.arange(-1, 3)[None, :], 0, in_n - 1)
        m = np.zeros((out_n, in_n))
        for k in range(4):
            np.add.at(m, (np.arange(out_n), idx[:, k]), ws[:, k])
        return m

    wh, ww = weights(img.shape[0], out_h), weights(img.shape[1], out_w)
    return (wh @ img.astype(np.float64) @ ww.T).astype(f32)


def attention_score_map(attention: np.ndarray, transformer_grid: tuple[int, int], token_grid: tuple[int, int]) -> dict:
    """Consolidated attention [gh*gw] -> raw, smoothed (transformer grid) and token-grid scores."""
    gh, gw = transformer_grid
    raw = rescale(attention.reshape(-1).astype(f32))
    smoothed = adaptive_smooth(raw.reshape(gh, gw))
    if (gh, gw) != tuple(token_grid):
        upsampled = bicubic_upsample(smoothed, *token_grid)
    else:
        upsampled = smoothed
    return {"raw": raw, "smoothed": smoothed.reshape(-1), "token_scores": upsampled.reshape(-1)}
