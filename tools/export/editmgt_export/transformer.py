"""The EditMGT transformer: Meissonic transformer + reference injection + reference-strength bias.

Parameter names and shapes equal the published ``editmgt`` checkpoint, so it loads with
``strict=True``. Config keys are those of the checkpoint's ``config.json``.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import CombinedTimestepTextProjEmbeddings, TimestepEmbedding, get_timestep_embedding
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.normalization import RMSNorm
from diffusers.models.resnet import Downsample2D, Upsample2D
from diffusers.models.transformers.transformer_flux import FluxPosEmbed
from torch import nn

from .attention import reference_bias
from .blocks import DoubleStreamBlock, Rope, SingleStreamBlock
from .errors import ExportError

CONNECTOR_TYPES = ("none", "linear", "mlp")
MICRO_COND_DIM = 256  # per micro-condition sinusoid width (5 values -> 1280)


class LinearConnector(nn.Module):
    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.projector = nn.Linear(in_dim, out_dim, bias=True)

    def forward(self, x):
        return self.projector(x)


class MLPConnector(nn.Module):
    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.projector = nn.Sequential(nn.Linear(in_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))

    def forward(self, x):
        return self.projector(x)


class TokenEmbed(nn.Module):
    """Embedding table -> RMSNorm -> 1x1 conv. ids [B,h,w] -> [B,C,h,w]."""

    def __init__(self, channels: int, out_channels: int, vocab_size: int):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, channels)
        self.layer_norm = RMSNorm(channels, 1e-6, True)
        self.conv = nn.Conv2d(channels, out_channels, kernel_size=1, bias=False)

    def forward(self, ids):
        # the 1x1 conv as a matmul, so weight-only quantisers see it
        x = nn.functional.linear(self.layer_norm(self.embeddings(ids)), self.conv.weight[:, :, 0, 0])
        return x.permute(0, 3, 1, 2)


class MlmHead(nn.Module):
    """1x1 conv -> RMSNorm -> 1x1 conv to codebook logits. [B,C,h,w] -> [B,K,h,w]."""

    def __init__(self, channels: int, codebook_size: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=1, bias=False)
        self.layer_norm = RMSNorm(channels, 1e-6, True)
        self.conv2 = nn.Conv2d(channels, codebook_size, kernel_size=1, bias=False)

    def normed_hidden(self, x):
        """[B,C,h,w] -> [B,h,w,C]: everything before the codebook projection (1x1 conv as a
        matmul, so quantisers see it, then the norm)."""
        return self.layer_norm(nn.functional.linear(x.permute(0, 2, 3, 1), self.conv1.weight[:, :, 0, 0]))

    def project(self, hidden):
        """[..., C] -> [..., K]: the codebook projection, linear without bias, so a mix of hidden
        states projects to the same mix of logits: W·(u + g(c − u)) = Wu + g(Wc − Wu)."""
        return nn.functional.linear(hidden, self.conv2.weight[:, :, 0, 0])

    def forward(self, x, channels_last: bool = False):
        # channels_last returns [B,h,w,K]
        x = self.project(self.normed_hidden(x))
        return x if channels_last else x.permute(0, 3, 1, 2)


class ResampleBlock(nn.Module):
    """Holds the optional 2x2 down conv or transposed up conv (checkpoint names ``downsample``/``upsample``)."""

    def __init__(self, channels: int, downsample: bool, upsample: bool):
        super().__init__()
        common = dict(norm_type="rms_norm", eps=1e-6, elementwise_affine=True, bias=False)
        self.downsample = (
            Downsample2D(channels, use_conv=True, padding=0, name="Conv2d_0", kernel_size=2, **common)
            if downsample
            else None
        )
        self.upsample = (
            Upsample2D(
                channels, use_conv_transpose=True, kernel_size=2, padding=0, name="conv", interpolate=False, **common
            )
            if upsample
            else None
        )

    def forward(self, x):
        if self.downsample is not None:
            x = self.downsample(x)
        if self.upsample is not None:
            x = self.upsample(x)
        return x


class EditMGTTransformer(ModelMixin, ConfigMixin):
    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        patch_size: int = 1,
        in_channels: int = 64,
        num_layers: int = 14,
        num_single_layers: int = 28,
        attention_head_dim: int = 128,
        num_attention_heads: int = 8,
        joint_attention_dim: int = 2304,
        pooled_projection_dim: int = 1024,
        guidance_embeds: bool = False,
        axes_dims_rope: tuple = (16, 56, 56),
        vocab_size: int = 8256,
        codebook_size: int = 8192,
        downsample: bool = True,
        upsample: bool = True,
        text_encoder_architecture: str = "CLIP_Gemma2",
        connector_type: str = "linear",
    ):
        super().__init__()
        connector_type = connector_type or "none"
        if connector_type not in CONNECTOR_TYPES:
            raise ExportError(
                f"unknown connector_type {connector_type!r} in transformer config (supported: {', '.join(CONNECTOR_TYPES)})"
            )
        if guidance_embeds:
            raise ExportError("guidance_embeds=true is not supported (EditMGT checkpoints use false)")
        dim = num_attention_heads * attention_head_dim
        if connector_type == "none" and joint_attention_dim != dim:
            raise ExportError(
                f"connector_type 'none' needs joint_attention_dim == heads*head_dim ({joint_attention_dim} != {dim})"
            )
        self.inner_dim = dim
        self.pos_embed = FluxPosEmbed(theta=10000, axes_dim=list(axes_dims_rope))
        self.time_text_embed = CombinedTimestepTextProjEmbeddings(embedding_dim=dim, pooled_projection_dim=dim)
        self.context_embedder = nn.Linear(dim, dim)
        self.transformer_blocks = nn.ModuleList(
            [DoubleStreamBlock(dim, num_attention_heads, attention_head_dim) for _ in range(num_layers)]
        )
        self.single_transformer_blocks = nn.ModuleList(
            [SingleStreamBlock(dim, num_attention_heads, attention_head_dim) for _ in range(num_single_layers)]
        )
        self.embed = TokenEmbed(dim, dim, vocab_size)
        self.mlm_layer = MlmHead(dim, codebook_size)
        self.cond_embed = TimestepEmbedding(5 * MICRO_COND_DIM + pooled_projection_dim, dim, sample_proj_bias=False)
        self.encoder_proj_layer_norm = RMSNorm(dim, 1e-6, True)
        self.project_to_hidden_norm = RMSNorm(dim, 1e-6, True)
        self.project_to_hidden = nn.Linear(dim, dim, bias=False)
        self.project_from_hidden_norm = RMSNorm(dim, 1e-6, True)
        self.project_from_hidden = nn.Linear(dim, dim, bias=False)
        self.down_block = ResampleBlock(dim, downsample, False)
        self.up_block = ResampleBlock(dim, False, upsample)
        if connector_type == "linear":
            self.connector = LinearConnector(joint_attention_dim, dim)
        elif connector_type == "mlp":
            self.connector = MLPConnector(joint_attention_dim, dim)
        else:
            self.connector = None

    # ---- geometry -------------------------------------------------------------------------
    def transformer_grid(self, h: int, w: int) -> tuple[int, int]:
        """Token grid (h, w) -> transformer grid after the optional 2x2 down block."""
        return (h // 2, w // 2) if self.config.downsample else (h, w)

    def rope_tables(self, text_len: int, gh: int, gw: int) -> Rope:
        """Rotary tables: text ids all zero, image ids (0, row, col); reference ids equal image ids."""
        rows = torch.arange(gh).repeat_interleave(gw)
        cols = torch.arange(gw).repeat(gh)
        img_ids = torch.stack([torch.zeros_like(rows), rows, cols], dim=1).float()
        txt_ids = torch.zeros(text_len, 3)
        main_cos, main_sin = self.pos_embed(torch.cat([txt_ids, img_ids]))
        ref_cos, ref_sin = self.pos_embed(img_ids)
        f = torch.float32
        return Rope(main_cos.to(f), main_sin.to(f), ref_cos.to(f), ref_sin.to(f))

    def attention_block_indices(self, blocks) -> list[int]:
        n = self.config.num_layers + self.config.num_single_layers
        bad = [b for b in blocks if not 0 <= b < n]
        if bad:
            raise ExportError(f"attention blocks {bad} out of range 0..{n - 1}")
        return list(blocks)

    # ---- forward --------------------------------------------------------------------------
    def _embed_tokens(self, ids):
        x = self.down_block(self.embed(ids))
        b, c, gh, gw = x.shape
        x = x.permute(0, 2, 3, 1).reshape(b, gh * gw, c)
        return self.project_to_hidden(self.project_to_hidden_norm(x))

    def forward(
        self,
        tokens: torch.Tensor,
        text_states: torch.Tensor,
        pooled: torch.Tensor,
        micro_conds: torch.Tensor,
        timestep: torch.Tensor,
        ref_tokens: torch.Tensor | None = None,
        ref_bias: torch.Tensor | float = 0.0,
        rope: Rope | None = None,
        capture_blocks: list[int] | None = None,
        text_weights: torch.Tensor | None = None,
        channels_last: bool = False,
        head_hidden: bool = False,
    ):
        """One transformer call.

        tokens/ref_tokens [B,h,w] ints; text_states [B,L,D_llm]; pooled [B,D_clip];
        micro_conds [B,5]; timestep [B] (step value, x1000 inside); ref_bias = log(strength).
        Returns (logits [B, codebook, h, w] or [B, h, w, codebook] if channels_last, captured): captured is a list, one per capture
        block, of [B, heads, gh*gw] text-weighted text->image attention (empty if none).
        head_hidden=True returns the MLM head's normed hidden states [B, h, w, C] instead of the
        logits (``mlm_layer.project`` makes them logits), so CFG can mix before the projection.
        """
        b, h, w = tokens.shape
        gh, gw = self.transformer_grid(h, w)
        text_len = text_states.shape[1]
        if rope is None:
            rope = self.rope_tables(text_len, gh, gw)
            if tokens.device.type != "cpu":  # training on an accelerator (export traces on the CPU)
                rope = Rope(*(r.to(tokens.device) for r in (*rope.main, *rope.ref)))
        if capture_blocks and text_weights is None:
            text_weights = text_states.new_ones(text_len)
        capture = set(capture_blocks or [])

        txt = self.connector(text_states) if self.connector is not None else text_states
        txt = self.encoder_proj_layer_norm(self.context_embedder(txt))

        micro = get_timestep_embedding(
            micro_conds.flatten(), MICRO_COND_DIM, flip_sin_to_cos=True, downscale_freq_shift=0
        )
        pooled = self.cond_embed(torch.cat([pooled, micro.reshape(b, -1)], dim=1))
        t = timestep.to(txt.dtype) * 1000
        temb = self.time_text_embed(t, pooled)

        img = self._embed_tokens(tokens)
        ref = ref_temb = bias = None
        if ref_tokens is not None:
            ref = self._embed_tokens(ref_tokens)
            ref_temb = self.time_text_embed(torch.zeros_like(t), pooled)
            bias = reference_bias(text_len + gh * gw, gh * gw, ref_bias, img)

        captured = []
        for i, block in enumerate(self.transformer_blocks):
            cw = text_weights if i in capture else None
            txt, img, ref, cap = block(img, txt, ref, temb, ref_temb, rope, bias, cw)
            if cap is not None:
                captured.append(cap)
        x = torch.cat([txt, img], dim=1)
        offset = len(self.transformer_blocks)
        for i, block in enumerate(self.single_transformer_blocks):
            cw = text_weights if (i + offset) in capture else None
            x, ref, cap = block(x, ref, temb, ref_temb, rope, bias, text_len, cw)
            if cap is not None:
                captured.append(cap)

        x = self.project_from_hidden(self.project_from_hidden_norm(x[:, text_len:]))
        x = x.reshape(b, gh, gw, -1).permute(0, 3, 1, 2)
        x = self.up_block(x)
        if head_hidden:
            return self.mlm_layer.normed_hidden(x), captured
        return self.mlm_layer(x, channels_last=channels_last), captured
