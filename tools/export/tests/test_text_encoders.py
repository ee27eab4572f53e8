"""Text encoders and tokenizers as the reference loads them: float32 computation whatever the
checkpoint's config.json names, and the tokenizer's own padding side recorded in the package."""

import json
import shutil

import pytest
import torch


def _copy_with(tiny_ckpt_dir, tmp_path, edit):
    root = tmp_path / "ckpt"
    shutil.copytree(tiny_ckpt_dir, root)
    edit(root)
    return root


@pytest.mark.parametrize("key", ["torch_dtype", "dtype"])
def test_text_encoders_compute_in_float32_when_the_config_names_bfloat16(tiny_ckpt_dir, tmp_path, key):
    from editmgt_export.checkpoint import load_checkpoint

    def bf16(root):
        for sub in ("text_encoder", "llm_encoder"):
            cfg_path = root / sub / "config.json"
            cfg = json.loads(cfg_path.read_text())
            cfg[key] = "bfloat16"
            cfg_path.write_text(json.dumps(cfg))

    ckpt = load_checkpoint(_copy_with(tiny_ckpt_dir, tmp_path, bf16))
    assert {p.dtype for p in ckpt.llm.parameters()} == {torch.float32}
    assert {p.dtype for p in ckpt.clip.parameters()} == {torch.float32}
    asked = load_checkpoint(_copy_with(tiny_ckpt_dir, tmp_path / "b", bf16), text_dtype=torch.bfloat16)
    assert {p.dtype for p in asked.llm.parameters()} == {torch.bfloat16}


def test_package_records_the_tokenizers_own_padding_side(tiny_ckpt, tmp_path):
    """A Gemma tokenizer whose files name no padding side (as the hub's: tokenizer_config.json
    without `padding_side`, tokenizer.json without padding) pads left, the class default; the
    package's tokenizer.json and manifest entry must both say so."""
    from dataclasses import replace

    from editmgt_export.package import package_tokenizers

    def gemma_class(root):
        cfg_path = root / "llm_encoder" / "tokenizer_config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg.pop("padding_side")
        cfg["tokenizer_class"] = "GemmaTokenizer"
        cfg_path.write_text(json.dumps(cfg))
        tj_path = root / "llm_encoder" / "tokenizer.json"
        tj = json.loads(tj_path.read_text())
        tj["padding"] = tj["truncation"] = None
        tj_path.write_text(json.dumps(tj))

    root = _copy_with(tiny_ckpt.root, tmp_path, gemma_class)
    out = tmp_path / "pkg"
    entries = package_tokenizers(replace(tiny_ckpt, root=root), out)
    saved = json.loads((out / "tokenizer_llm" / "tokenizer.json").read_text())
    assert saved["padding"]["direction"] == "Left"
    assert entries["llm"]["padding_side"] == "left"
    assert entries["clip"]["padding_side"] == "right"
