"""Tiny, deterministic tokenizers for the tiny-random model, built with `tokenizers`.

* CLIP-style byte-level BPE with ``</w>`` end-of-word suffix, <|startoftext|>/<|endoftext|>,
  padded (with <|endoftext|>) and truncated to 77.
* Gemma-style SentencePiece-like BPE (``▁`` for spaces, byte fallback <0x00>..<0xFF>),
  <bos> prepended, padded (with <pad>, right side) and truncated to 256.
Both are saved as ``tokenizer.json`` (+ ``tokenizer_config.json``) loadable by transformers,
transformers.js and @huggingface/tokenizers.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

CORPUS = [
    "make it into ghibli style",
    "turn the sky into a sunset",
    "remove the person on the left",
    "add a red hat to the cat",
    "change the background to a beach",
    "make the car blue",
    "replace the dog with a tiger",
    "make it look like a watercolor painting",
    "add snow on the roof",
    "the quick brown fox jumps over the lazy dog",
    "a photo of an astronaut riding a horse on mars",
    "worst quality, low quality, low res, blurry, distortion, watermark, logo, signature, text, "
    "jpeg artifacts, signature, sketch, duplicate, ugly, identifying mark",
    "colour colors green yellow purple orange black white night day winter summer",
    "object addition removal replacement attribute change background style transfer",
]
CLIP_PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def _train_merges(words: list[list[str]], n_merges: int) -> list[tuple[str, str]]:
    """Plain BPE training, deterministic: most frequent pair first, ties broken by the pair."""
    from collections import Counter

    counts = Counter(tuple(w) for w in words)
    merges: list[tuple[str, str]] = []
    for _ in range(n_merges):
        pairs: Counter = Counter()
        for word, c in counts.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[1] < 2:
            break
        a, b = best[0]
        merges.append((a, b))
        merged: Counter = Counter()
        for word, c in counts.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += c
        counts = merged
    return merges


def clip_text_rules():
    """The CLIP-style normaliser (NFC, collapsed whitespace, lower case) and pre-tokenizer (CLIP's
    word pattern, then byte-level)."""
    norm = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CLIP_PATTERN), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    return norm, pre


def assemble_clip_tokenizer(merges: list[tuple[str, str]], max_length: int, decoder=None) -> Tokenizer:
    """A CLIP-style tokenizer from learned merges: vocabulary = the 256 byte symbols, the same with
    ``</w>``, the merges, then <|startoftext|> and <|endoftext|>; BOS/EOS added, padded with EOS.
    ``decoder``: defaults to byte-level with ``</w>`` turned back into spaces."""
    byte_chars = sorted(pre_tokenizers.ByteLevel.alphabet())
    norm, pre = clip_text_rules()
    vocab: dict[str, int] = {}
    for piece in byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m) for m in merges]:
        vocab.setdefault(piece, len(vocab))
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, end_of_word_suffix="</w>", unk_token="<|endoftext|>"))
    tok.normalizer, tok.pre_tokenizer = norm, pre
    tok.add_special_tokens(["<|startoftext|>", "<|endoftext|>"])
    bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    tok.post_processor = processors.RobertaProcessing(
        ("<|endoftext|>", eos), ("<|startoftext|>", bos), trim_offsets=False, add_prefix_space=False
    )
    tok.decoder = decoder or decoders.Sequence(
        [decoders.ByteLevel(), decoders.Replace("</w>", " "), decoders.Strip(" ", 0, 1)]
    )
    tok.enable_truncation(max_length)
    tok.enable_padding(pad_id=eos, pad_token="<|endoftext|>", length=max_length)
    return tok


GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"]


def assemble_gemma_tokenizer(merges: list[tuple[str, str]], chars: list[str], max_length: int) -> Tokenizer:
    """A Gemma-style tokenizer from learned merges: vocabulary = the specials, the 256 byte-fallback
    pieces, the corpus's characters (spaces as ``▁``), the merges; <bos> first, right-padded."""
    vocab: dict[str, int] = {}
    for piece in GEMMA_SPECIALS + [f"<0x{b:02X}>" for b in range(256)] + chars + ["".join(m) for m in merges]:
        vocab.setdefault(piece, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.add_special_tokens(GEMMA_SPECIALS)
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", vocab["<bos>"])]
    )
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.enable_truncation(max_length)
    tok.enable_padding(pad_id=vocab["<pad>"], pad_token="<pad>", length=max_length, direction="right")
    return tok


def build_clip_tokenizer(max_length: int = 77) -> Tokenizer:
    norm, pre = clip_text_rules()
    words = []
    for line in CORPUS:
        for piece, _ in pre.pre_tokenize_str(norm.normalize_str(line)):
            words.append(list(piece[:-1]) + [piece[-1] + "</w>"])
    return assemble_clip_tokenizer(_train_merges(words, 300), max_length)


def build_gemma_tokenizer(max_length: int = 256) -> Tokenizer:
    words = [list("▁" + w) for line in CORPUS for w in line.split(" ")]
    chars = sorted({c for line in CORPUS for c in line.replace(" ", "▁")})
    return assemble_gemma_tokenizer(_train_merges(words, 250), chars, max_length)


def save_tokenizer(tok: Tokenizer, folder: Path, kind: str, max_length: int) -> None:
    """Write tokenizer.json + tokenizer_config.json (+ special_tokens_map.json for CLIP)."""
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    if kind == "clip":
        special = {
            "bos_token": "<|startoftext|>",
            "eos_token": "<|endoftext|>",
            "unk_token": "<|endoftext|>",
            "pad_token": "<|endoftext|>",
        }
    else:
        special = {"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>"}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_length,
        "padding_side": "right",
        "truncation_side": "right",
        "add_bos_token": kind == "gemma",
        "clean_up_tokenization_spaces": False,
        **special,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
