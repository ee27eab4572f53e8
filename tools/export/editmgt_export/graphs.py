"""The five graphs of a model package as torch modules (exported to ONNX as they are, and run
by the PyTorch reference pipeline), with the input/output names of docs/model-package.md."""

from __future__ import annotations

import torch
from torch import nn

from .transformer import EditMGTTransformer
from .vq_decoder import SplitTailDecoder, split_factor

GRAPH_IO = {
    "text_clip": (["input_ids"], ["text_embeds"]),
    # the package's text_llm takes its token table's rows (text_table.py); it is traced with ids
    "text_llm": (["inputs_embeds", "attention_mask"], ["hidden_states"]),
    "vq_encode": (["pixels"], ["ids"]),
    "vq_decode": (["ids"], ["pixels"]),
    "transformer_step": (
        [
            "tokens",
            "ref_tokens",
            "text_states",
            "pooled",
            "micro_conds",
            "timestep",
            "guidance_scale",
            "ref_bias",
            "text_weights",
            "uniforms",
        ],
        ["drawn_ids", "drawn_probs", "ref_probs", "attention"],
    ),
}


# names as traced from the torch modules (and as the PyTorch reference runs them)
TRACED_IO = {**GRAPH_IO, "text_llm": (["input_ids", "attention_mask"], ["hidden_states"])}


class TextClip(nn.Module):
    """input_ids int64 [B,77] -> text_embeds [B, D_clip] (pooled, projected)."""

    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, input_ids):
        return self.clip(input_ids=input_ids).text_embeds


class TextLlm(nn.Module):
    """input_ids, attention_mask int64 [B,L] -> hidden state of the second-to-last layer [B,L,D].

    Runs the decoder layers except the last one (its output is not used), so the graph is
    one layer smaller than the full model.
    """

    def __init__(self, causal_lm):
        super().__init__()
        self.lm = causal_lm

    def forward(self, input_ids, attention_mask):
        base = self.lm.model
        layers, norm = base.layers, base.norm
        base.layers, base.norm = layers[:-1], nn.Identity()
        try:
            out = base(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
        finally:
            base.layers, base.norm = layers, norm
        return out.last_hidden_state


class VqEncode(nn.Module):
    """pixels float32 [1,3,H,W] in [0,1] -> ids int32 [1,h,w] (nearest codebook entry)."""

    def __init__(self, vq):
        super().__init__()
        self.vq = vq

    def forward(self, pixels):
        latents = self.vq.encode(pixels).latents
        b, _, h, w = latents.shape
        ids = self.vq.quantize(latents)[2][2]
        return ids.reshape(b, h, w).to(torch.int32)


class VqDecode(nn.Module):
    """ids int32 [1,h,w] -> pixels float32 [1,3,H,W] clipped to [0,1]; ids >= codebook size
    (the mask id) decode as code 0, as the reference does.

    ``split_tail`` (the exported graph's form) holds the decoder's wide full-resolution tensors as
    channel parts, so its largest buffer is the last block's width (vq_decoder.py); without it the
    decoder runs as the reference does."""

    def __init__(self, vq, split_tail: bool = False):
        super().__init__()
        self.vq = vq
        self.codebook_size = vq.config.num_vq_embeddings
        self.latent_channels = vq.config.vq_embed_dim or vq.config.latent_channels
        k = (
            split_factor(vq.decoder)
            if split_tail and vq.config.lookup_from_codebook and vq.config.norm_type != "spatial"
            else 0
        )
        self.tail = SplitTailDecoder(vq.decoder, k) if k else None

    def forward(self, ids):
        b, h, w = ids.shape
        ids = torch.where(ids >= self.codebook_size, torch.zeros_like(ids), ids)
        shape = (b, h, w, self.latent_channels)
        if self.tail is None:
            sample = self.vq.decode(ids.reshape(b, h * w), force_not_quantize=True, shape=shape).sample
        else:
            quant = self.vq.quantize.get_codebook_entry(ids.reshape(b, h * w), shape)
            sample = self.tail(self.vq.post_quant_conv(quant))
        return sample.clamp(0, 1)


class TransformerStep(nn.Module):
    """One sampling step with CFG, the token draw and the attention capture inside.

    Inputs (h, w token grid; L text length; batch 2 = [uncond, cond], or 1 = [cond] for no CFG):
      tokens, ref_tokens int32 [1,h,w]; text_states [2,L,D]; pooled [2,Dc]; micro_conds [1,5];
      timestep, guidance_scale, ref_bias float32 [1]; text_weights [L]; uniforms [1,h*w].
    Outputs: drawn_ids int32 [1,h*w]; drawn_probs, ref_probs float32 [1,h*w];
      attention float32 [1, gh*gw] (conditional branch, mean over blocks and heads).
    """

    def __init__(
        self, transformer: EditMGTTransformer, token_grid: tuple[int, int], text_len: int, attention_blocks: list[int]
    ):
        super().__init__()
        self.transformer = transformer
        self.attention_blocks = transformer.attention_block_indices(attention_blocks)
        self.codebook_size = transformer.config.codebook_size
        gh, gw = transformer.transformer_grid(*token_grid)
        rope = transformer.rope_tables(text_len, gh, gw)
        for name, t in (
            ("main_cos", rope.main[0]),
            ("main_sin", rope.main[1]),
            ("ref_cos", rope.ref[0]),
            ("ref_sin", rope.ref[1]),
        ):
            self.register_buffer(name, t.contiguous(), persistent=False)
        self.register_buffer("code_index", torch.arange(self.codebook_size, dtype=torch.float32), persistent=False)

    def logits_and_attention(
        self, tokens, ref_tokens, text_states, pooled, micro_conds, timestep, guidance_scale, ref_bias, text_weights
    ):
        from .blocks import Rope

        rope = Rope(self.main_cos, self.main_sin, self.ref_cos, self.ref_sin)
        # text batch 2 = [uncond, cond]: CFG; batch 1 = [cond]: no CFG, as the reference runs at
        # guidance <= 1 (the exported graph is traced with batch 2; hosts feed [cond, cond] there,
        # which gives the conditional logits exactly: u + g·(c − u) with c = u is u)
        batch = text_states.shape[0]
        rows = lambda t: torch.cat([t] * batch, dim=0)  # noqa: E731
        hidden, captured = self.transformer(
            rows(tokens),
            text_states,
            pooled,
            rows(micro_conds),
            rows(timestep),
            ref_tokens=rows(ref_tokens),
            ref_bias=ref_bias,
            rope=rope,
            capture_blocks=self.attention_blocks,
            text_weights=text_weights,
            head_hidden=True,
        )  # [batch, h, w, C]
        if batch == 2:
            # CFG on the head's normed hidden states, then one projection: the projection is linear
            # (no bias, nothing after it), so this equals u + g·(c − u) on the logits, and the graph
            # holds one [1, h, w, K] logits tensor instead of two
            uncond, cond = hidden[0:1], hidden[1:2]
            hidden = uncond + guidance_scale * (cond - uncond)  # [1, h, w, C]
        logits = self.transformer.mlm_layer.project(hidden)  # [1, h, w, K]
        attention = torch.stack(captured, dim=0)[:, batch - 1 : batch].mean(dim=(0, 2))  # [1, gh*gw], conditional
        return logits, attention

    def forward(
        self,
        tokens,
        ref_tokens,
        text_states,
        pooled,
        micro_conds,
        timestep,
        guidance_scale,
        ref_bias,
        text_weights,
        uniforms,
    ):
        logits, attention = self.logits_and_attention(
            tokens, ref_tokens, text_states, pooled, micro_conds, timestep, guidance_scale, ref_bias, text_weights
        )
        k = logits.shape[-1]
        probs = torch.softmax(logits.flatten(1, 2), dim=-1)  # [1, h*w, K]
        # inverse CDF: first index whose cumulative probability exceeds u (counted, no int64 ops)
        below = (torch.cumsum(probs, dim=-1) <= uniforms.unsqueeze(-1)).to(probs.dtype).sum(-1)
        drawn = torch.clamp(below, max=k - 1)
        drawn_probs = (probs * (self.code_index == drawn.unsqueeze(-1)).to(probs.dtype)).sum(-1)
        ref = ref_tokens.flatten(1).to(probs.dtype)
        ref_probs = (probs * (self.code_index == ref.unsqueeze(-1)).to(probs.dtype)).sum(-1)
        return drawn.to(torch.int32), drawn_probs, ref_probs, attention
