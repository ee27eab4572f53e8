"""The streamed random checkpoint (editmgt_export/stream_checkpoint.py): hub layout, sharded with an
index where it is large, loadable strictly by the exporter's reader, reproducible from its seed,
and read the same by the numpy reader."""

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file

from editmgt_export.checkpoint import load_checkpoint
from editmgt_export.stream_checkpoint import build_streamed_checkpoint
from editmgt_export.tiny import TINY_TRANSFORMER, TINY_VQ
from editmgt_export.weightmap import SafetensorsFolder

SHARD = 150_000  # bytes: the tiny transformer and VQ-GAN get several shards


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("streamed")
    a = build_streamed_checkpoint(root / "a", 5, TINY_TRANSFORMER, TINY_VQ, {}, {}, shard_bytes=SHARD)
    b = build_streamed_checkpoint(root / "b", 5, TINY_TRANSFORMER, TINY_VQ, {}, {}, shard_bytes=SHARD)
    yield a, b
    shutil.rmtree(root, ignore_errors=True)


def test_hub_layout_with_shards_and_index(built):
    a, _ = built
    index = json.loads((a / "transformer" / "diffusion_pytorch_model.safetensors.index.json").read_text())
    shards = sorted(p.name for p in (a / "transformer").glob("*.safetensors"))
    assert len(shards) > 1 and shards[0].endswith(f"-00001-of-{len(shards):05d}.safetensors")
    assert sorted(set(index["weight_map"].values())) == shards
    total = 0
    for name in shards:
        tensors = load_file(str(a / "transformer" / name))
        assert sorted(n for n, f in index["weight_map"].items() if f == name) == sorted(tensors)
        total += sum(t.nbytes for t in tensors.values())
    assert index["metadata"]["total_size"] == total
    # Gemma's output head is tied to its token table and not stored
    llm = load_file(str(a / "llm_encoder" / "model.safetensors"))
    assert "lm_head.weight" not in llm and "model.embed_tokens.weight" in llm
    assert not list(a.parent.glob(".*building"))


def test_loads_strictly_and_reproduces(built):
    a, b = built
    ckpt = load_checkpoint(a)  # every tensor's name and shape checked against the configs' models
    assert ckpt.transformer_subfolder == "transformer"
    for f in sorted(a.rglob("*")):
        if f.is_file():
            assert f.read_bytes() == (b / f.relative_to(a)).read_bytes(), f
    # the randomize rule: norms near 1 (Gemma's near 0), tables N(0, 1), biases small
    state = ckpt.transformer.state_dict()
    norm = next(v for k, v in state.items() if k.endswith("norm.weight") and v.dim() == 1)
    assert abs(float(norm.mean()) - 1.0) < 0.2
    table = ckpt.llm.model.embed_tokens.weight.detach().numpy()
    assert 0.9 < table.std() < 1.1
    gemma_norm = ckpt.llm.model.norm.weight.detach().numpy()
    assert abs(float(gemma_norm.mean())) < 0.1


def test_numpy_reader_reads_the_same(built):
    a, _ = built
    folder = SafetensorsFolder(a / "vqvae")
    ckpt = load_checkpoint(a)
    for name, t in ckpt.vq.state_dict().items():
        np.testing.assert_array_equal(folder.float32(name), t.numpy())
