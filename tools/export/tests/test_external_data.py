"""Graph weights in external-data chunks: written beside the graph, named by file name, loaded
and run by onnxruntime exactly as the graph with its weights inside."""

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from editmgt_export.external_data import CHUNK_BYTES, chunk_paths, save_chunked
from editmgt_export.onnx_export import save_model


def three_matmuls() -> onnx.ModelProto:
    """y = ((x·W0)·W1)·W2 with 64×64 float32 weights (16 KiB each) and one small bias kept inline."""
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float32), f"w{i}") for i in range(3)]
    bias = numpy_helper.from_array(np.arange(4, dtype=np.float32), "small")
    nodes = [
        helper.make_node("MatMul", ["x", "w0"], ["h0"]),
        helper.make_node("MatMul", ["h0", "w1"], ["h1"]),
        helper.make_node("MatMul", ["h1", "w2"], ["h2"]),
        helper.make_node("ReduceSum", ["h2"], ["s"], keepdims=0),
        helper.make_node("Add", ["s", "small"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [*weights, bias],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def run(path) -> np.ndarray:
    x = np.linspace(-1, 1, 4 * 64, dtype=np.float32).reshape(4, 64)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def test_weights_split_into_chunks_load_and_run_like_the_embedded_graph(tmp_path):
    embedded = tmp_path / "embedded.onnx"
    onnx.save_model(three_matmuls(), str(embedded))
    chunked = tmp_path / "step.onnx"
    # two 16 KiB weights fit a 40 KiB chunk, the third starts the next one
    chunks = save_chunked(three_matmuls(), chunked, chunk_bytes=40 * 1024)
    assert [p.name for p in chunks] == ["step.onnx.data", "step.onnx.data_1"]
    assert [p.stat().st_size for p in chunks] == [2 * 16384, 16384]
    assert chunk_paths(chunked) == chunks
    graph = onnx.load(str(chunked), load_external_data=False)
    locations = {t.name: {e.key: e.value for e in t.external_data}.get("location") for t in graph.graph.initializer}
    assert locations == {"w0": "step.onnx.data", "w1": "step.onnx.data", "w2": "step.onnx.data_1", "small": None}
    assert chunked.stat().st_size < 2048  # the graph file holds no weights
    np.testing.assert_array_equal(run(chunked), run(embedded))  # same kernels, same weights: equal


def test_saving_again_replaces_every_old_chunk(tmp_path):
    path = tmp_path / "g.onnx"
    save_chunked(three_matmuls(), path, chunk_bytes=16384)
    assert len(chunk_paths(path)) == 3
    save_model(three_matmuls(), path, external=True)
    assert [p.name for p in chunk_paths(path)] == ["g.onnx.data"]  # 48 KiB < CHUNK_BYTES
    assert CHUNK_BYTES == 1 << 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.onnx", "g.onnx.data"]
    save_model(three_matmuls(), path, external=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.onnx"]


def test_relayout_moves_a_package_to_other_chunks_and_keeps_its_outputs(tmp_path):
    """An existing package rewritten with one chunk per graph: the manifest lists the new chunks,
    validates, and each graph computes exactly what it did."""
    import shutil

    from export_helpers import TINY_PACKAGE

    from editmgt_export.relayout import relayout_package

    copy = tmp_path / "pkg"
    shutil.copytree(TINY_PACKAGE, copy)
    m = relayout_package(copy)
    step = m["dtypes"]["fp32"]["graphs"]["transformer_step"]
    assert step["external_data"] == ["fp32/transformer_step.onnx.data"]
    assert not (copy / "fp32" / "transformer_step.onnx.data_1").exists()
    listed = {f["path"] for f in m["files"]}
    assert listed == {p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()} - {"manifest.json"}
    feeds = {"ids": np.arange(256, dtype=np.int32).reshape(1, 16, 16) % 64}
    for d in m["dtypes"]:
        path = m["dtypes"][d]["graphs"]["vq_decode"]["file"]
        a = ort.InferenceSession(str(copy / path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
        b = ort.InferenceSession(str(TINY_PACKAGE / path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
        np.testing.assert_array_equal(a, b)


def test_a_tensor_too_big_for_one_chunk_gets_its_own_and_a_package_refuses_it(tiny_ckpt, tmp_path, monkeypatch):
    """A tensor over the chunk size is written alone; a package refuses a chunk at the 2 GiB limit
    (scaled down here: 16 KiB chunks, a 30 KB limit; the tiny graphs have tensors of 36 KB and more)."""
    import pytest

    import editmgt_export.package as package
    from editmgt_export.errors import ExportError

    chunks = save_chunked(three_matmuls(), tmp_path / "g.onnx", chunk_bytes=10_000)
    assert [p.stat().st_size for p in chunks] == [16384, 16384, 16384]  # one 16 KiB weight each
    monkeypatch.setattr(package, "MAX_CHUNK_BYTES", 30_000)
    with pytest.raises(ExportError, match=r"fp32/\w+\.onnx\.data(_\d+)? has [\d,]+ bytes: one of its tensors"):
        package.write_package(
            tiny_ckpt,
            tmp_path / "pkg",
            ["fp32"],
            name="pkg",
            source="x",
            resolution=64,
            log=lambda *_: None,
            chunk_bytes=16 * 1024,
        )
    assert not (tmp_path / "pkg").exists()
