"""Strict checkpoint round trip and the tiny checkpoint's determinism."""

import hashlib

import torch
from safetensors.torch import load_file, save_file

from editmgt_export.checkpoint import load_transformer
from editmgt_export.tiny import TINY_TRANSFORMER, build_tiny_checkpoint
from editmgt_export.transformer import EditMGTTransformer


def _digest(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_tiny_checkpoint_is_deterministic(tiny_ckpt_dir, tmp_path):
    again = build_tiny_checkpoint(tmp_path / "again", seed=0)
    assert _digest(again) == _digest(tiny_ckpt_dir)


def test_strict_round_trip(tiny_ckpt, tmp_path):
    model = tiny_ckpt.transformer
    folder = tmp_path / "editmgt"
    folder.mkdir()
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "diffusion_pytorch_model.safetensors")
    )
    (folder / "config.json").write_text((tiny_ckpt.root / "editmgt" / "config.json").read_text())
    reloaded = load_transformer(folder)
    fresh = EditMGTTransformer(**TINY_TRANSFORMER)
    fresh.load_state_dict(load_file(str(folder / "diffusion_pytorch_model.safetensors")), strict=True)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, reloaded.state_dict()[name]), name
        assert torch.equal(tensor, fresh.state_dict()[name]), name


def test_parameter_names_follow_the_published_checkpoint():
    # full-size config as used for EditMGT training: 14 double + 28 single blocks, hidden 1024
    m = EditMGTTransformer(num_layers=1, num_single_layers=1)
    names = set(m.state_dict())
    for expected in [
        "embed.embeddings.weight",
        "embed.layer_norm.weight",
        "embed.conv.weight",
        "mlm_layer.conv1.weight",
        "mlm_layer.layer_norm.weight",
        "mlm_layer.conv2.weight",
        "cond_embed.linear_1.weight",
        "cond_embed.linear_2.weight",
        "encoder_proj_layer_norm.weight",
        "project_to_hidden_norm.weight",
        "project_to_hidden.weight",
        "project_from_hidden_norm.weight",
        "project_from_hidden.weight",
        "down_block.downsample.norm.weight",
        "down_block.downsample.conv.weight",
        "up_block.upsample.norm.weight",
        "up_block.upsample.conv.weight",
        "connector.projector.weight",
        "context_embedder.weight",
        "time_text_embed.timestep_embedder.linear_1.weight",
        "time_text_embed.text_embedder.linear_1.weight",
        "transformer_blocks.0.attn.to_add_out.weight",
        "transformer_blocks.0.attn.norm_added_q.weight",
        "transformer_blocks.0.ff_context.net.0.proj.weight",
        "single_transformer_blocks.0.proj_out.weight",
        "single_transformer_blocks.0.attn.norm_k.weight",
    ]:
        assert expected in names, expected
    sd = m.state_dict()
    assert tuple(sd["cond_embed.linear_1.weight"].shape) == (1024, 1280 + 1024)
    assert tuple(sd["connector.projector.weight"].shape) == (1024, 2304)
    assert tuple(sd["mlm_layer.conv2.weight"].shape) == (8192, 1024, 1, 1)
    assert tuple(sd["embed.embeddings.weight"].shape) == (8256, 1024)
    assert not any(k.startswith("single_transformer_blocks.0.attn.to_out") for k in names)
