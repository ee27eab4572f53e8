"""A tiny random EditMGT checkpoint in hub layout, deterministic from a seed.

Weights are drawn with numpy's PCG64 in sorted tensor-name order (independent of torch's RNG),
so the same seed gives byte-identical safetensors on any machine.
"""

from __future__ import annotations

import collections
import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from .configs import editmgt_transformer, gemma2, vq_gan, write_pipeline_files
from .tiny_tokenizers import build_clip_tokenizer, build_gemma_tokenizer, save_tokenizer
from .transformer import EditMGTTransformer

TINY_RESOLUTION = 64
# External-data chunks of the tiny package are filled to 512 KiB instead of 1 GiB, so its larger
# graphs have two chunks: every test that loads it goes through the full-size layout.
TINY_CHUNK_BYTES = 512 * 1024
# a smaller weight gain keeps the random transformer's activations moderate, so quantisation
# error does not get amplified chaotically through the blocks (closer to a trained model)
TRANSFORMER_GAIN = 0.5
TINY_TRANSFORMER = editmgt_transformer(
    in_channels=32,
    num_layers=2,
    num_single_layers=2,
    attention_head_dim=16,
    num_attention_heads=2,
    joint_attention_dim=32,
    pooled_projection_dim=32,
    axes_dims_rope=[4, 6, 6],
    vocab_size=128,
    codebook_size=64,
)
TINY_VQ = vq_gan(
    block_out_channels=[16, 32, 32],
    layers_per_block=1,
    latent_channels=8,
    sample_size=64,
    num_vq_embeddings=64,
    norm_num_groups=8,
)


def _tiny_clip_config(vocab_size: int, bos: int, eos: int) -> dict:
    return dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        projection_dim=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=77,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
        bos_token_id=bos,
        eos_token_id=eos,
        pad_token_id=eos,
    )


def _tiny_gemma_config(vocab_size: int) -> dict:
    return gemma2(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        query_pre_attn_scalar=16,
    )


def randomize(module: torch.nn.Module, seed: int, zero_centered_norms: bool = False, gain: float = 1.0) -> None:
    """Deterministic init: N(0, 1/fan_in) weights, N(0,1) embeddings/codebooks, norms near their identity."""
    rng = np.random.Generator(np.random.PCG64(seed))
    state = module.state_dict()
    tables = {f"{n}.weight" for n, m in module.named_modules() if isinstance(m, torch.nn.Embedding)}
    # tied tensors (one storage, two names) get the value of the name that comes last in the
    # module order, as load_state_dict would leave them
    shared = collections.Counter(t.data_ptr() for t in state.values() if t.is_floating_point())
    deferred = {}
    for name in sorted(state):
        t = state[name]
        shape = tuple(t.shape)
        leaf = name.rsplit(".", 1)[-1]
        if not t.is_floating_point():
            continue
        if leaf == "bias" or len(shape) == 0:
            values = 0.02 * rng.standard_normal(shape)
        elif len(shape) == 1:  # norm scales; Gemma's RMSNorm is (1 + w), so start near 0 there
            base = 0.0 if zero_centered_norms and "norm" in name else 1.0
            values = base + 0.1 * rng.standard_normal(shape)
        elif name in tables:
            values = rng.standard_normal(shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            values = gain * rng.standard_normal(shape) / math.sqrt(fan_in)
        value = torch.from_numpy(values.astype(np.float32))
        if shared[t.data_ptr()] > 1:
            deferred[name] = value
            continue
        with torch.no_grad():  # in place (state_dict shares the parameters' storage): no second copy
            t.copy_(value)
    with torch.no_grad():
        for name in (n for n in state if n in deferred):
            state[name].copy_(deferred[name])


def _save_module(module: torch.nn.Module, folder: Path, config: dict, skip=(), shard_bytes: int = 1 << 30) -> None:
    """Weights as safetensors (sharded above ``shard_bytes``, as the hub does, which also bounds
    the writer's extra memory to one shard) plus config.json."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.safetensors"):  # a previous model's shards would be read with these
        old.unlink()
    stem = "diffusion_pytorch_model" if "_class_name" in config else "model"
    shards, size = [{}], 0
    for k, v in module.state_dict().items():
        if k in skip:
            continue
        nbytes = v.numel() * v.element_size()
        if shards[-1] and size + nbytes > shard_bytes:
            shards.append({})
            size = 0
        shards[-1][k] = v.contiguous()
        size += nbytes
    for i, shard in enumerate(shards):
        name = f"{stem}.safetensors" if len(shards) == 1 else f"{stem}-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(folder / name), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def build_tiny_checkpoint(out: Path, seed: int = 0) -> Path:
    """Write the tiny checkpoint (hub layout) to ``out`` and return it."""
    return build_random_checkpoint(out, seed)


def build_random_checkpoint(
    out: Path,
    seed: int = 0,
    transformer: dict = TINY_TRANSFORMER,
    vq: dict = TINY_VQ,
    clip: dict | None = None,
    gemma: dict | None = None,
    log=lambda _: None,
    parts=("text_encoder", "llm_encoder", "vqvae", "editmgt"),
) -> Path:
    """A random checkpoint in hub layout with the tiny tokenizers: ``transformer`` and ``vq`` are
    full configs, ``clip`` / ``gemma`` override the tiny text-encoder configs (e.g. real widths).
    ``parts``: the model folders to write (the others are left as they are, e.g. to give a
    checkpoint new text encoders)."""
    out = Path(out)
    clip_tok, gemma_tok = build_clip_tokenizer(), build_gemma_tokenizer()
    save_tokenizer(clip_tok, out / "tokenizer", "clip", 77)
    save_tokenizer(gemma_tok, out / "llm_encoder", "gemma", 256)

    vocab = clip_tok.get_vocab()
    clip_cfg = {
        **_tiny_clip_config(clip_tok.get_vocab_size(), vocab["<|startoftext|>"], vocab["<|endoftext|>"]),
        **(clip or {}),
    }
    if "text_encoder" in parts:
        _write_random_clip(out / "text_encoder", clip_cfg, seed + 1)
        log("text_encoder written")
    gemma_cfg = {**_tiny_gemma_config(gemma_tok.get_vocab_size()), **(gemma or {})}
    if "llm_encoder" in parts:
        _write_random_gemma(out / "llm_encoder", gemma_cfg, seed + 2)
        log("llm_encoder written")
    if "vqvae" in parts:
        _write_random_vq(out / "vqvae", vq, seed + 3)
        log("vqvae written")
    if "editmgt" in parts:
        _write_random_transformer(out / "editmgt", transformer, seed + 4)
        log("editmgt written")

    write_pipeline_files(out, transformer["vocab_size"] - 1, {"tiny_random_seed": seed})
    return out


# one function per component, so each model is freed before the next is built


def _write_random_clip(folder: Path, cfg: dict, seed: int) -> None:
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    model = CLIPTextModelWithProjection(CLIPTextConfig(**cfg))
    randomize(model, seed)
    _save_module(
        model, folder, {"architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", **cfg}
    )


def _write_random_gemma(folder: Path, cfg: dict, seed: int) -> None:
    from transformers import Gemma2Config, Gemma2ForCausalLM

    model = Gemma2ForCausalLM(Gemma2Config(**cfg))
    randomize(model, seed, zero_centered_norms=True)
    _save_module(
        model, folder, {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", **cfg}, skip=("lm_head.weight",)
    )


def _write_random_vq(folder: Path, cfg: dict, seed: int) -> None:
    from diffusers import VQModel

    model = VQModel(**cfg)
    randomize(model, seed)
    _save_module(model, folder, {"_class_name": "VQModel", **cfg})


def _write_random_transformer(folder: Path, cfg: dict, seed: int) -> None:
    model = EditMGTTransformer(**cfg)
    randomize(model, seed, gain=TRANSFORMER_GAIN)
    _save_module(model, folder, {"_class_name": "Transformer2DModel", **cfg})
