"""Joint attention with EditMGT reference-image injection and attention capture.

Operates on a diffusers ``Attention`` module's projections directly (we do not go through its
processor) so the same code runs in PyTorch and exports to plain ONNX MatMul/Softmax ops.

Shapes: B batch, S = text+image length, R reference length, H heads, d head dim.
"""

from __future__ import annotations

import torch
from torch import nn


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Flux-style interleaved rotary embedding. x [B, H, S, d]; cos/sin [S, d]."""
    x_pairs = x.reshape(*x.shape[:-1], -1, 2)
    x_real, x_imag = x_pairs[..., 0], x_pairs[..., 1]
    rotated = torch.stack([-x_imag, x_real], dim=-1).flatten(3)
    return x * cos + rotated * sin


def _heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    b, s, c = t.shape
    return t.reshape(b, s, heads, c // heads).transpose(1, 2)


def project_qkv(attn: nn.Module, x: torch.Tensor, added: bool = False):
    """q, k, v [B, H, S, d] with q/k RMSNorm, from the main or the added (context) projections."""
    if added:
        q, k, v = attn.add_q_proj(x), attn.add_k_proj(x), attn.add_v_proj(x)
        nq, nk = attn.norm_added_q, attn.norm_added_k
    else:
        q, k, v = attn.to_q(x), attn.to_k(x), attn.to_v(x)
        nq, nk = attn.norm_q, attn.norm_k
    q, k, v = (_heads(t, attn.heads) for t in (q, k, v))
    return nq(q), nk(k), v


def reference_bias(n_main: int, n_ref: int, log_strength: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
    """Additive bias [S+R, S+R]: log(strength) between a reference and a non-reference token."""
    is_ref = torch.cat([like.new_zeros(n_main), like.new_ones(n_ref)])
    cross = (is_ref[:, None] - is_ref[None, :]) ** 2
    return cross * log_strength


def joint_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """softmax(q kᵀ/√d + bias) v, written out so the ONNX graph has no fused/int64 ops."""
    scale = q.shape[-1] ** -0.5
    scores = torch.matmul(q * scale, k.transpose(-1, -2))
    if bias is not None:
        scores = scores + bias
    return torch.matmul(torch.softmax(scores, dim=-1), v)


def capture_text_to_image(q: torch.Tensor, k: torch.Tensor, text_len: int, text_weights: torch.Tensor) -> torch.Tensor:
    """Text→image attention over text+image keys only (reference tokens excluded, as the
    reference's capture does), averaged over text positions with ``text_weights``.

    q, k [B, H, S, d] (text first, no reference); text_weights [L]. Returns [B, H, S − L].
    """
    scale = q.shape[-1] ** -0.5
    scores = torch.matmul(q[:, :, :text_len] * scale, k.transpose(-1, -2))
    probs = torch.softmax(scores, dim=-1)[:, :, :, text_len:]
    w = (text_weights / text_weights.sum()).reshape(1, 1, 1, -1)
    return torch.matmul(w, probs).squeeze(2)
