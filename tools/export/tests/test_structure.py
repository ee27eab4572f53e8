"""The checkpoint's models without its weights (checkpoint.load_checkpoint(..., weights=False)),
what graph templates are built from: the configs' models, checked against the stored tensors'
names and shapes, zeros for every weight, nothing of the tensor data read."""

import json
import shutil

import pytest
import torch

from editmgt_export.checkpoint import load_checkpoint
from editmgt_export.errors import ExportError


@pytest.fixture()
def ckpt_copy(tiny_ckpt_dir, tmp_path):
    out = tmp_path / "ckpt"
    shutil.copytree(tiny_ckpt_dir, out)
    yield out
    shutil.rmtree(out, ignore_errors=True)


def test_same_models_with_zero_weights(tiny_ckpt_dir, tiny_ckpt):
    bare = load_checkpoint(tiny_ckpt_dir, weights=False)
    for part in ("clip", "llm", "vq", "transformer"):
        full, empty = getattr(tiny_ckpt, part).state_dict(), getattr(bare, part).state_dict()
        assert list(full) == list(empty), part
        for name, t in full.items():
            assert empty[name].shape == t.shape and empty[name].dtype == t.dtype, (part, name)
            if t.is_floating_point() and name in dict(getattr(bare, part).named_parameters()):
                assert not empty[name].any(), (part, name)
    # Gemma's output head stays tied to its token table
    assert bare.llm.lm_head.weight is bare.llm.model.embed_tokens.weight


def test_tensor_data_is_not_read(ckpt_copy):
    """Tensor bytes overwritten with 0xFF (NaN): the weightless models are still all zeros."""
    for f in ckpt_copy.rglob("*.safetensors"):
        data = bytearray(f.read_bytes())
        start = 8 + int.from_bytes(data[:8], "little")
        data[start:] = b"\xff" * (len(data) - start)
        f.write_bytes(bytes(data))
    bare = load_checkpoint(ckpt_copy, weights=False)
    for part in ("clip", "llm", "vq", "transformer"):
        assert all(not p.any() for p in getattr(bare, part).parameters()), part  # NaN.any() is true


def test_a_shape_the_config_does_not_make_is_refused(ckpt_copy):
    cfg_path = ckpt_copy / "llm_encoder" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["intermediate_size"] += 32
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ExportError, match=r"llm_encoder: tensor 'model\.layers\.0\.mlp\.\w+_proj\.weight' has shape"):
        load_checkpoint(ckpt_copy, weights=False)


def test_large_weights_take_no_memory_until_read():
    """A weight of 1 MiB or more is a zero mapping of its own, resident only once read (so a
    full-size model's structure costs almost no memory, and an export pays for one graph's
    weights, not every model's)."""
    from editmgt_export.checkpoint import _MAPPED_FROM, _zeros

    def rss_kb():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))

    before = rss_kb()
    big = _zeros((64, 1 << 20), torch.float32)  # 256 MiB
    assert big.nbytes >= _MAPPED_FROM and rss_kb() - before < 64 * 1024
    assert float(big[::7, ::4096].sum()) == 0.0


def test_a_hub_download_fetches_either_transformer_folder():
    """A hub repository keeps its transformer in ``transformer/`` (model_index.json's name) or ``editmgt/``."""
    from editmgt_export.checkpoint import HUB_PATTERNS, NEEDED, TRANSFORMER_SUBFOLDERS

    for sub in (*NEEDED, *TRANSFORMER_SUBFOLDERS):
        assert f"{sub}/*" in HUB_PATTERNS
