"""Tokenizers built from the shapes world's own vocabulary, and the two small text encoders.

Roles as in EditMGT: a CLIPTextModelWithProjection gives the pooled vector (its projected EOS
state), a Gemma2 causal LM gives the sequence (hidden state of its second-to-last layer). Both
start random and are trained jointly with the MGT (gradients flow through them).

Tokenizers (``tokenizers`` library, hub-loadable ``tokenizer.json``): CLIP-style byte-level BPE
with ``</w>``, padded/truncated to 77; Gemma-style BPE with ``▁`` and byte fallback, ``<bos>``
first, right-padded with ``<pad>`` to ``LLM_LENGTH``. The instructions are short, so the Gemma
sequence is 32 long instead of the reference's 256 (the transformer is length-agnostic; this
keeps the joint attention 4× cheaper).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from editmgt_export import tiny_tokenizers
from editmgt_export.configs import gemma2
from editmgt_export.tiny_tokenizers import assemble_clip_tokenizer, assemble_gemma_tokenizer, clip_text_rules

from .edits import KINDS, STYLE_WORDS, caption
from .scene import BACKGROUND_COLOURS, SHAPE_COLOURS, SHAPES, SIZES
from .splits import pair_at

CLIP_LENGTH = 77
LLM_LENGTH = 32
WIDTH = 64  # hidden size of both encoders (= joint_attention_dim and pooled_projection_dim)


def corpus() -> list[str]:
    """Deterministic text drawn from the generator (train split only) plus the bare vocabulary."""
    lines = []
    for i in range(700):
        p = pair_at("train", i)
        lines += [p.instruction, caption(p.source), caption(p.target)]
    words = list(SHAPE_COLOURS) + list(BACKGROUND_COLOURS) + list(SHAPES) + list(SIZES) + list(KINDS)
    lines += [" ".join(words)] + [w for ws in STYLE_WORDS.values() for w in ws]
    return lines


def _merges(tok: Tokenizer, lines, vocab_size: int, **kw):
    tok.train_from_iterator(
        lines, trainer=trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, min_frequency=2, **kw)
    )
    return [
        tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]
    ]


def build_clip_tokenizer(lines) -> Tokenizer:
    norm, pre = clip_text_rules()
    t = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    t.normalizer, t.pre_tokenizer = norm, pre
    merges = _merges(
        t, lines, 1200, end_of_word_suffix="</w>", initial_alphabet=sorted(pre_tokenizers.ByteLevel.alphabet())
    )
    return assemble_clip_tokenizer(merges, CLIP_LENGTH, decoder=decoders.ByteLevel())


def build_gemma_tokenizer(lines) -> Tokenizer:
    t = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    t.normalizer = normalizers.Replace(" ", "▁")
    # merges are learned within "▁word" units only, so the saved tokenizer (no pre-tokenizer, like
    # the exporter's) never fuses words together
    t.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    merges = _merges(t, lines, 700)
    chars = sorted({c for line in lines for c in line.replace(" ", "▁")})
    return assemble_gemma_tokenizer(merges, chars, LLM_LENGTH)


def save_tokenizer(tok: Tokenizer, folder: Path, kind: str) -> None:
    tiny_tokenizers.save_tokenizer(tok, folder, kind, CLIP_LENGTH if kind == "clip" else LLM_LENGTH)


def clip_config(tok: Tokenizer) -> dict:
    v = tok.get_vocab()
    return dict(
        vocab_size=tok.get_vocab_size(),
        hidden_size=WIDTH,
        intermediate_size=2 * WIDTH,
        projection_dim=WIDTH,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=CLIP_LENGTH,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
        bos_token_id=v["<|startoftext|>"],
        eos_token_id=v["<|endoftext|>"],
        pad_token_id=v["<|endoftext|>"],
    )


def gemma_config(tok: Tokenizer) -> dict:
    # 3 layers: the sequence is the second-to-last hidden state, so the last layer is never used.
    return gemma2(
        vocab_size=tok.get_vocab_size(),
        hidden_size=WIDTH,
        intermediate_size=2 * WIDTH,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        query_pre_attn_scalar=32,
    )


class TextEncoders(torch.nn.Module):
    """Both encoders; ``forward(clip_ids, llm_ids, llm_mask) -> (sequence [B,32,64], pooled [B,64])``."""

    def __init__(self, clip_tok: Tokenizer, llm_tok: Tokenizer):
        super().__init__()
        from transformers import CLIPTextConfig, CLIPTextModelWithProjection, Gemma2Config, Gemma2ForCausalLM

        self.clip_cfg, self.llm_cfg = clip_config(clip_tok), gemma_config(llm_tok)
        self.clip = CLIPTextModelWithProjection(CLIPTextConfig(**self.clip_cfg))
        self.llm = Gemma2ForCausalLM(Gemma2Config(**self.llm_cfg))

    def forward(self, clip_ids, llm_ids, llm_mask):
        pooled = self.clip(input_ids=clip_ids).text_embeds
        out = self.llm.model(input_ids=llm_ids, attention_mask=llm_mask, output_hidden_states=True)
        return out.hidden_states[-2], pooled


def encode_texts(clip_tok: Tokenizer, llm_tok: Tokenizer, texts: list[str]):
    """-> (clip_ids int64 [N,77], llm_ids int64 [N,L], llm_mask int64 [N,L]).

    The mask is all ones, padding included: the reference pipeline (and so our engine) runs Gemma
    without an attention mask, and training must see what inference sees."""
    c = clip_tok.encode_batch(texts)
    g = llm_tok.encode_batch(texts)
    ids = torch.tensor([e.ids for e in g])
    return torch.tensor([e.ids for e in c]), ids, torch.ones_like(ids)
