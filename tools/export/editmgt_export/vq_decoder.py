"""The VQ-GAN decoder with its full-resolution tail split by channels, so that no tensor at full
resolution is wider than the decoder's last block.

The decoder's second-to-last up block ends in a 2x nearest upsample and a 3x3 conv at the full
image resolution with that block's width (256 channels in EditMGT's VQ-GAN), and the last block's
first resnet reads that tensor before narrowing it to its own width (128). At 512 px the 256-channel
float32 tensors are 256 MiB each: more than the 128 MiB storage binding many WebGPU adapters allow.
Where one would exceed WebGPU's default 128 MiB binding (``SPLIT_ABOVE_BYTES``; onnx_export.py
decides), those tensors are kept as ``k`` channel groups (k = wide / narrow, 2 for EditMGT): a conv over
groups is the sum of per-group convs (``W x = sum_i W[:, i] x_i``); a group norm whose groups align
with the split is a group norm per part; SiLU and nearest upsampling act per channel. The result is
the reference decoder's up to float summation order; the widest full-resolution tensor is then the
last block's (128 MiB at 512 px in float32, 64 MiB in float16).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _view(t: torch.Tensor, index: tuple) -> nn.Parameter:
    """A parameter sharing ``t``'s storage (a slice of it)."""
    return nn.Parameter(t.detach()[index], requires_grad=False)


def _conv_parts(conv: nn.Conv2d, in_parts: int, out_parts: int) -> nn.ModuleList:
    """conv's weight as [out_parts][in_parts] convs (the bias on the first of each row)."""
    ci, co = conv.in_channels // in_parts, conv.out_channels // out_parts
    rows = nn.ModuleList()
    for j in range(out_parts):
        row = nn.ModuleList()
        for i in range(in_parts):
            part = nn.Conv2d(
                ci,
                co,
                conv.kernel_size,
                stride=conv.stride,
                padding=conv.padding,
                dilation=conv.dilation,
                bias=conv.bias is not None and i == 0,
            )
            # views of the conv's own tensors, not copies: the exporter finds a part's checkpoint
            # tensor and slice by its storage (onnx_export.checkpoint_weights)
            part.weight = _view(conv.weight, (slice(j * co, (j + 1) * co), slice(i * ci, (i + 1) * ci)))
            if part.bias is not None:
                part.bias = _view(conv.bias, (slice(j * co, (j + 1) * co),))
            row.append(part)
        rows.append(row)
    return rows


def _run_conv_parts(rows: nn.ModuleList, xs: list[torch.Tensor]) -> list[torch.Tensor]:
    out = []
    for row in rows:
        acc = row[0](xs[0])
        for conv, x in zip(list(row)[1:], xs[1:]):
            acc = acc + conv(x)
        out.append(acc)
    return out


class _GroupNormParts(nn.Module):
    """A GroupNorm applied to k channel parts whose boundaries fall between its groups."""

    def __init__(self, norm: nn.GroupNorm, k: int):
        super().__init__()
        c = norm.num_channels // k
        self.parts = nn.ModuleList()
        for i in range(k):
            part = nn.GroupNorm(norm.num_groups // k, c, eps=norm.eps, affine=True)
            part.weight = _view(norm.weight, (slice(i * c, (i + 1) * c),))
            part.bias = _view(norm.bias, (slice(i * c, (i + 1) * c),))
            self.parts.append(part)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [norm(x) for norm, x in zip(self.parts, xs)]


# WebGPU's default maxStorageBufferBindingSize: a decoder whose wide full-resolution tensors stay
# within it is exported as the reference lays it out
SPLIT_ABOVE_BYTES = 128 * 2**20


def wide_tail_bytes(decoder: nn.Module, resolution: int) -> int:
    """Float32 bytes of one wide full-resolution tensor of the decoder's tail at `resolution` px
    (0 where there is nothing to split)."""
    if not split_factor(decoder):
        return 0
    return decoder.up_blocks[-1].resnets[0].conv1.in_channels * resolution * resolution * 4


def split_factor(decoder: nn.Module) -> int:
    """k for this decoder, or 0 where its tail has no wide full-resolution part to split (the
    layout is not the VQ-GAN's: no conv upsample before a narrowing resnet, or groups that a split
    would cut)."""
    if len(decoder.up_blocks) < 2:
        return 0
    pen, last = decoder.up_blocks[-2], decoder.up_blocks[-1]
    if not pen.upsamplers or len(pen.upsamplers) != 1 or last.upsamplers:
        return 0
    up, r0 = pen.upsamplers[0], last.resnets[0]
    if (
        not getattr(up, "use_conv", False)
        or getattr(up, "use_conv_transpose", True)
        or not getattr(up, "interpolate", False)
        or up.norm is not None
        or getattr(up, "name", "") != "conv"
    ):
        return 0
    # a resnet with spatial norm (ResnetBlockCondNorm2D) has no time embedding projection at all
    if any(getattr(r0, a, None) is not None for a in ("upsample", "downsample", "time_emb_proj")):
        return 0
    if r0.conv_shortcut is None or not isinstance(r0.norm1, nn.GroupNorm):
        return 0
    wide, narrow = r0.conv1.in_channels, r0.conv1.out_channels
    if narrow <= 0 or wide <= narrow or wide % narrow:
        return 0
    k = wide // narrow
    if r0.norm1.num_groups % k or up.conv.out_channels != wide or up.conv.in_channels != wide:
        return 0
    return k


class SplitTailDecoder(nn.Module):
    """``decoder(z)`` of diffusers' VQ-GAN Decoder (no spatial norm), its wide full-resolution
    tensors held as ``k`` channel parts (module docstring)."""

    def __init__(self, decoder: nn.Module, k: int):
        super().__init__()
        assert k >= 2 and split_factor(decoder) == k
        self.d = decoder
        pen, last = decoder.up_blocks[-2], decoder.up_blocks[-1]
        r0 = last.resnets[0]
        self.k = k
        self.up_conv = _conv_parts(pen.upsamplers[0].conv, k, k)
        self.norm1 = _GroupNormParts(r0.norm1, k)
        self.conv1 = _conv_parts(r0.conv1, k, 1)
        self.shortcut = _conv_parts(r0.conv_shortcut, k, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        d = self.d
        pen, last = d.up_blocks[-2], d.up_blocks[-1]
        r0 = last.resnets[0]
        s = d.mid_block(d.conv_in(z), None)
        for block in list(d.up_blocks)[:-2]:
            s = block(s, None)
        for resnet in pen.resnets:
            s = resnet(s, temb=None)
        parts = [F.interpolate(p, scale_factor=2.0, mode="nearest") for p in torch.chunk(s, self.k, dim=1)]
        parts = _run_conv_parts(self.up_conv, parts)
        h = [r0.nonlinearity(p) for p in self.norm1(parts)]
        h = _run_conv_parts(self.conv1, h)[0]
        h = r0.conv2(r0.dropout(r0.nonlinearity(r0.norm2(h))))
        s = (_run_conv_parts(self.shortcut, parts)[0] + h) / r0.output_scale_factor
        for resnet in list(last.resnets)[1:]:
            s = resnet(s, temb=None)
        return d.conv_out(d.conv_act(d.conv_norm_out(s)))
