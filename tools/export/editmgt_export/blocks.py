"""Double- and single-stream blocks carrying the reference-image stream (EditMGT injection).

Built from diffusers parts; attribute names match the published checkpoint
(``transformer_blocks.N.*`` / ``single_transformer_blocks.N.*``). The reference stream uses
the same weights as the image stream, with its own ``temb`` (timestep 0).
"""

from __future__ import annotations

import torch
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from diffusers.models.normalization import AdaLayerNormZero, AdaLayerNormZeroSingle
from torch import nn

from .attention import apply_rope, capture_text_to_image, joint_attention, project_qkv


class Rope:
    """Rotary tables: ``main`` covers text+image, ``ref`` the reference tokens ([S, d] each)."""

    def __init__(self, main_cos, main_sin, ref_cos, ref_sin):
        self.main = (main_cos, main_sin)
        self.ref = (ref_cos, ref_sin)


class DoubleStreamBlock(nn.Module):
    def __init__(self, dim: int, heads: int, head_dim: int):
        super().__init__()
        self.norm1 = AdaLayerNormZero(dim)
        self.norm1_context = AdaLayerNormZero(dim)
        self.attn = Attention(
            query_dim=dim,
            cross_attention_dim=None,
            added_kv_proj_dim=dim,
            dim_head=head_dim,
            heads=heads,
            out_dim=dim,
            context_pre_only=False,
            bias=True,
            qk_norm="rms_norm",
            eps=1e-6,
        )
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ff = FeedForward(dim=dim, dim_out=dim, activation_fn="gelu-approximate")
        self.norm2_context = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ff_context = FeedForward(dim=dim, dim_out=dim, activation_fn="gelu-approximate")

    def forward(self, img, txt, ref, temb, ref_temb, rope: Rope, bias, capture_weights=None):
        """img [B,N,C], txt [B,L,C], ref [B,R,C] or None. Returns (txt, img, ref, captured)."""
        n_img, n_txt = img.shape[1], txt.shape[1]
        img_n, g_msa, sh_mlp, sc_mlp, g_mlp = self.norm1(img, emb=temb)
        txt_n, c_g_msa, c_sh_mlp, c_sc_mlp, c_g_mlp = self.norm1_context(txt, emb=temb)

        qi, ki, vi = project_qkv(self.attn, img_n)
        qt, kt, vt = project_qkv(self.attn, txt_n, added=True)
        q = apply_rope(torch.cat([qt, qi], 2), *rope.main)
        k = apply_rope(torch.cat([kt, ki], 2), *rope.main)
        v = torch.cat([vt, vi], 2)
        captured = None if capture_weights is None else capture_text_to_image(q, k, n_txt, capture_weights)
        if ref is not None:
            ref_n, r_g_msa, r_sh_mlp, r_sc_mlp, r_g_mlp = self.norm1(ref, emb=ref_temb)
            qr, kr, vr = project_qkv(self.attn, ref_n)
            q = torch.cat([q, apply_rope(qr, *rope.ref)], 2)
            k = torch.cat([k, apply_rope(kr, *rope.ref)], 2)
            v = torch.cat([v, vr], 2)
        out = joint_attention(q, k, v, bias).transpose(1, 2).flatten(2)
        txt_attn, img_attn = out[:, :n_txt], out[:, n_txt : n_txt + n_img]

        img = img + g_msa.unsqueeze(1) * self.attn.to_out[0](img_attn)
        img_n = self.norm2(img) * (1 + sc_mlp[:, None]) + sh_mlp[:, None]
        img = img + g_mlp.unsqueeze(1) * self.ff(img_n)

        if ref is not None:
            ref = ref + r_g_msa.unsqueeze(1) * self.attn.to_out[0](out[:, n_txt + n_img :])
            ref_n = self.norm2(ref) * (1 + r_sc_mlp[:, None]) + r_sh_mlp[:, None]
            ref = ref + r_g_mlp.unsqueeze(1) * self.ff(ref_n)

        txt = txt + c_g_msa.unsqueeze(1) * self.attn.to_add_out(txt_attn)
        txt_n = self.norm2_context(txt) * (1 + c_sc_mlp[:, None]) + c_sh_mlp[:, None]
        txt = txt + c_g_mlp.unsqueeze(1) * self.ff_context(txt_n)
        return txt, img, ref, captured


class SingleStreamBlock(nn.Module):
    def __init__(self, dim: int, heads: int, head_dim: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.mlp_hidden_dim = int(dim * mlp_ratio)
        self.norm = AdaLayerNormZeroSingle(dim)
        self.proj_mlp = nn.Linear(dim, self.mlp_hidden_dim)
        self.act_mlp = nn.GELU(approximate="tanh")
        self.proj_out = nn.Linear(dim + self.mlp_hidden_dim, dim)
        self.attn = Attention(
            query_dim=dim,
            cross_attention_dim=None,
            dim_head=head_dim,
            heads=heads,
            out_dim=dim,
            bias=True,
            qk_norm="rms_norm",
            eps=1e-6,
            pre_only=True,
        )

    def forward(self, x, ref, temb, ref_temb, rope: Rope, bias, text_len: int, capture_weights=None):
        """x [B, L+N, C] (text then image), ref [B,R,C] or None. Returns (x, ref, captured)."""
        n_main = x.shape[1]
        x_n, gate = self.norm(x, emb=temb)
        q, k, v = project_qkv(self.attn, x_n)
        q, k = apply_rope(q, *rope.main), apply_rope(k, *rope.main)
        captured = None if capture_weights is None else capture_text_to_image(q, k, text_len, capture_weights)
        if ref is not None:
            ref_n, r_gate = self.norm(ref, emb=ref_temb)
            qr, kr, vr = project_qkv(self.attn, ref_n)
            q = torch.cat([q, apply_rope(qr, *rope.ref)], 2)
            k = torch.cat([k, apply_rope(kr, *rope.ref)], 2)
            v = torch.cat([v, vr], 2)
        out = joint_attention(q, k, v, bias).transpose(1, 2).flatten(2)

        mlp = self.act_mlp(self.proj_mlp(x_n))
        x = x + gate.unsqueeze(1) * self.proj_out(torch.cat([out[:, :n_main], mlp], dim=2))
        if ref is not None:
            r_mlp = self.act_mlp(self.proj_mlp(ref_n))
            ref = ref + r_gate.unsqueeze(1) * self.proj_out(torch.cat([out[:, n_main:], r_mlp], dim=2))
        return x, ref, captured
