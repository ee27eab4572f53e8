"""A checkpoint that does not match its config fails with the tensor's name and both shapes;
layout and config problems are one-line CLI errors, not tracebacks."""

import json
import shutil
import subprocess
import sys

import pytest
import torch
from export_helpers import ROOT
from safetensors.torch import load_file, save_file

from editmgt_export.checkpoint import load_checkpoint, load_transformer
from editmgt_export.errors import ExportError


@pytest.fixture
def ckpt_copy(tiny_ckpt_dir, tmp_path):
    dst = tmp_path / "ckpt"
    shutil.copytree(tiny_ckpt_dir, dst)
    return dst


def _edit_weights(folder, fn):
    path = next(folder.glob("*.safetensors"))
    tensors = load_file(str(path))
    fn(tensors)
    save_file(tensors, str(path))


def test_wrong_tensor_shape_names_tensor_and_both_shapes(ckpt_copy):
    _edit_weights(ckpt_copy / "editmgt", lambda t: t.update({"context_embedder.weight": torch.zeros(32, 31)}))
    with pytest.raises(ExportError) as e:
        load_transformer(ckpt_copy / "editmgt")
    msg = str(e.value)
    assert "context_embedder.weight" in msg and "(32, 31)" in msg and "(32, 32)" in msg


def test_config_that_does_not_match_the_tensors(ckpt_copy):
    cfg_path = ckpt_copy / "editmgt" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["codebook_size"] = 32
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ExportError) as e:
        load_transformer(ckpt_copy / "editmgt")
    assert (
        "mlm_layer.conv2.weight" in str(e.value)
        and "(64, 32, 1, 1)" in str(e.value)
        and "(32, 32, 1, 1)" in str(e.value)
    )


def test_missing_and_unexpected_tensors(ckpt_copy):
    _edit_weights(ckpt_copy / "editmgt", lambda t: t.pop("embed.conv.weight"))
    with pytest.raises(ExportError, match="lacks tensor 'embed.conv.weight'"):
        load_transformer(ckpt_copy / "editmgt")
    _edit_weights(ckpt_copy / "vqvae", lambda t: t.update({"extra.weight": torch.zeros(2)}))
    with pytest.raises(ExportError, match="unexpected tensor 'extra.weight'"):
        load_checkpoint(ckpt_copy)


def test_text_encoder_mismatch(ckpt_copy):
    _edit_weights(ckpt_copy / "llm_encoder", lambda t: t.update({"model.norm.weight": torch.zeros(33)}))
    with pytest.raises(ExportError, match=r"model.norm.weight.*\(33,\).*\(32,\)"):
        load_checkpoint(ckpt_copy)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "editmgt_export", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_cli_missing_subfolder_is_one_line(ckpt_copy, tmp_path):
    shutil.rmtree(ckpt_copy / "vqvae")
    r = _cli("convert", "--source", str(ckpt_copy), "--dtype", "fp32", "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "no 'vqvae' subfolder" in r.stderr
    assert not (tmp_path / "out").exists()


def test_cli_unknown_connector_is_one_line(ckpt_copy, tmp_path):
    cfg_path = ckpt_copy / "editmgt" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["connector_type"] = "qformer"
    cfg_path.write_text(json.dumps(cfg))
    r = _cli("convert", "--source", str(ckpt_copy), "--dtype", "fp32", "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "unknown connector_type 'qformer'" in r.stderr


def test_cli_bad_source_and_dtype_are_one_line(ckpt_copy, tmp_path):
    r = _cli("convert", "--source", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    r = _cli("convert", "--source", str(ckpt_copy), "--dtype", "int3", "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "unknown dtype 'int3'" in r.stderr and r.stderr.strip().count("\n") == 0


def test_connector_types(tiny_ckpt):
    from editmgt_export.transformer import EditMGTTransformer

    small = dict(
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        pooled_projection_dim=32,
        axes_dims_rope=(4, 6, 6),
        vocab_size=16,
        codebook_size=8,
    )
    assert (
        "connector.projector.2.weight"
        in EditMGTTransformer(connector_type="mlp", joint_attention_dim=48, **small).state_dict()
    )
    assert not any(
        k.startswith("connector")
        for k in EditMGTTransformer(connector_type="none", joint_attention_dim=32, **small).state_dict()
    )
    with pytest.raises(ExportError, match="joint_attention_dim"):
        EditMGTTransformer(connector_type="none", joint_attention_dim=48, **small)
