"""The configs of the models the project builds (tiny random, full-size random, shapes), each
shared fact written once: what every EditMGT transformer, VQ-GAN and Gemma-2 config fixes, and
the pipeline files (scheduler config, model_index.json) of a hub-layout checkpoint."""

from __future__ import annotations

import json
from pathlib import Path


def editmgt_transformer(
    *,
    in_channels: int,
    num_layers: int,
    num_single_layers: int,
    attention_head_dim: int,
    num_attention_heads: int,
    joint_attention_dim: int,
    pooled_projection_dim: int,
    axes_dims_rope: list[int],
    vocab_size: int,
    codebook_size: int,
) -> dict:
    """An EditMGT transformer's config.json fields (the published model's fixed ones included)."""
    return dict(
        patch_size=1,
        in_channels=in_channels,
        num_layers=num_layers,
        num_single_layers=num_single_layers,
        attention_head_dim=attention_head_dim,
        num_attention_heads=num_attention_heads,
        joint_attention_dim=joint_attention_dim,
        pooled_projection_dim=pooled_projection_dim,
        guidance_embeds=False,
        axes_dims_rope=axes_dims_rope,
        vocab_size=vocab_size,
        codebook_size=codebook_size,
        downsample=True,
        upsample=True,
        text_encoder_architecture="CLIP_Gemma2",
        connector_type="linear",
    )


def vq_gan(
    *,
    block_out_channels: list[int],
    layers_per_block: int,
    latent_channels: int,
    sample_size: int,
    num_vq_embeddings: int,
    norm_num_groups: int,
    norm_type: str = "group",
) -> dict:
    """A diffusers VQModel config as the Meissonic VQ-GAN uses it (one down and up block a level)."""
    levels = len(block_out_channels)
    return dict(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * levels,
        up_block_types=["UpDecoderBlock2D"] * levels,
        block_out_channels=block_out_channels,
        layers_per_block=layers_per_block,
        act_fn="silu",
        latent_channels=latent_channels,
        sample_size=sample_size,
        num_vq_embeddings=num_vq_embeddings,
        norm_num_groups=norm_num_groups,
        vq_embed_dim=None,
        scaling_factor=0.18215,
        norm_type=norm_type,
        mid_block_add_attention=False,
        lookup_from_codebook=True,
        force_upcast=False,
    )


def gemma2(
    *,
    vocab_size: int,
    hidden_size: int,
    intermediate_size: int,
    num_hidden_layers: int,
    num_attention_heads: int,
    num_key_value_heads: int,
    head_dim: int,
    query_pre_attn_scalar: int,
    max_position_embeddings: int = 512,
) -> dict:
    """A Gemma-2 config (transformers' Gemma2Config fields) with Gemma-2-2B's fixed choices."""
    return dict(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=num_key_value_heads,
        head_dim=head_dim,
        max_position_embeddings=max_position_embeddings,
        sliding_window=4096,
        query_pre_attn_scalar=query_pre_attn_scalar,
        attn_logit_softcapping=50.0,
        final_logit_softcapping=30.0,
        hidden_activation="gelu_pytorch_tanh",
        rms_norm_eps=1e-6,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
        tie_word_embeddings=True,
        attn_implementation="eager",
    )


def write_pipeline_files(out: Path, mask_token_id: int, index_extra: dict) -> None:
    """A hub-layout checkpoint's scheduler/scheduler_config.json and model_index.json
    (``index_extra``: fields that say where the checkpoint came from)."""
    (out / "scheduler").mkdir(parents=True, exist_ok=True)
    (out / "scheduler" / "scheduler_config.json").write_text(
        json.dumps({"_class_name": "Scheduler", "mask_token_id": mask_token_id, "masking_schedule": "cosine"}, indent=2)
        + "\n"
    )
    index = {
        "_class_name": "Pipeline",
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "text_encoder": ["transformers", "CLIPTextModelWithProjection"],
        "vqvae": ["diffusers", "VQModel"],
        "transformer": ["src.transformer", "Transformer2DModel"],
        "scheduler": ["src.scheduler", "Scheduler"],
        **index_extra,
    }
    (out / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
