"""Widening a narrow text_llm export (editmgt_export/widen.py) gives the package the direct
conversion gives: a small Gemma exported with MLP width 64 and widened to 96 with the weights of a
checkpoint exported at 96 matches that checkpoint's package byte for byte."""

import json
import shutil

import numpy as np
import onnx
import pytest
from safetensors.numpy import load_file, save_file

FULL, NARROW = 96, 64
LAYERS = 2  # MLPs in the graph: the model has 3 layers, and text_llm stops at the second-to-last


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """(full, narrow): the same random checkpoint with Gemma's MLP at width 96, and cut to 64."""
    from editmgt_export.tiny import build_random_checkpoint

    root = tmp_path_factory.mktemp("widen")
    full = build_random_checkpoint(root / "full", seed=3, gemma={"intermediate_size": FULL, "num_hidden_layers": 3})
    narrow = root / "narrow"
    shutil.copytree(full, narrow)
    llm = narrow / "llm_encoder"
    tensors = load_file(str(llm / "model.safetensors"))
    for name, t in tensors.items():
        if ".mlp.down_proj." in name:
            tensors[name] = np.ascontiguousarray(t[:, :NARROW])
        elif ".mlp." in name:
            tensors[name] = np.ascontiguousarray(t[:NARROW])
    save_file(tensors, str(llm / "model.safetensors"), metadata={"format": "pt"})
    cfg = json.loads((llm / "config.json").read_text())
    (llm / "config.json").write_text(json.dumps({**cfg, "intermediate_size": NARROW}))
    return full, narrow


def weights_of(checkpoint):
    tensors = load_file(str(checkpoint / "llm_encoder" / "model.safetensors"))
    return lambda layer, proj: tensors[f"model.layers.{layer}.mlp.{proj}.weight"]


def q4_text_llm(checkpoint, folder):
    from editmgt_export.checkpoint import load_checkpoint
    from editmgt_export.dtypes import convert_graph
    from editmgt_export.onnx_export import export_all
    from editmgt_export.text_table import move_token_table

    fp32 = export_all(load_checkpoint(checkpoint), folder / "fp32", (16, 16), 64, [2, 3], graphs=["text_llm"])
    (folder / "q4").mkdir()
    graph = convert_graph(fp32["text_llm"], "q4", folder / "q4" / "text_llm.onnx", "text_llm", 1 << 20)
    move_token_table(graph, 1 << 20)
    return graph


def files_of(graph):
    return {p.name: p.read_bytes() for p in sorted(graph.parent.glob("text_llm.*"))}


def test_widened_graph_is_the_direct_conversion(checkpoints, tmp_path):
    """Graph, chunks and table identical to the checkpoint converted at full width; before
    widening they differ (so the comparison can fail)."""
    from onnx.external_data_helper import load_external_data_for_model

    from editmgt_export.onnx_export import save_model
    from editmgt_export.widen import widen_mlp

    full, narrow = checkpoints
    direct = q4_text_llm(full, tmp_path / "direct")
    graph = q4_text_llm(narrow, tmp_path / "narrow")
    assert files_of(graph) != files_of(direct)
    model = onnx.load(str(graph), load_external_data=False)
    load_external_data_for_model(model, str(graph.parent))
    save_model(widen_mlp(model, NARROW, FULL, weights_of(full), LAYERS), graph, chunk_bytes=1 << 20)
    assert files_of(graph) == files_of(direct)


def test_widening_checks_what_it_is_given(checkpoints, tmp_path):
    from editmgt_export.errors import ExportError
    from editmgt_export.widen import widen_mlp

    full, narrow = checkpoints
    graph = q4_text_llm(narrow, tmp_path)
    model = onnx.load(str(graph), load_external_data=False)
    with pytest.raises(ExportError, match="found 2 MLPs of width 64, expected 3"):
        widen_mlp(model, NARROW, FULL, weights_of(full), 3)
    with pytest.raises(ExportError, match="found 0 MLPs of width 48"):
        widen_mlp(model, 48, FULL, weights_of(full), LAYERS)
    with pytest.raises(ExportError, match=r"layer 0 gate_proj: weight \(96, 32\), expected \(128, 32\)"):
        widen_mlp(model, NARROW, 128, weights_of(full), LAYERS)


def test_widened_token_table_keeps_its_rows_and_adds_int8_rows(tmp_path):
    from editmgt_export.dtypes import int8_rows
    from editmgt_export.text_table import int8_row_bytes, read_rows
    from editmgt_export.widen import widen_token_table

    dim = 48
    values = np.random.default_rng(0).standard_normal((10, dim)).astype(np.float32)
    table = tmp_path / "text_llm.table"
    table.write_bytes(int8_row_bytes(*int8_rows(values)))
    desc = {"format": "int8", "rows": 10, "dim": dim, "row_bytes": 4 + dim}
    before = read_rows(table, desc, np.arange(10)[None])
    wide = widen_token_table(table, desc, 1000, seed=1, chunk_rows=64)
    assert wide == {**desc, "rows": 1000}
    assert table.stat().st_size == 1000 * (4 + dim)
    rows = read_rows(table, wide, np.arange(1000)[None])[0]
    np.testing.assert_array_equal(rows[:10], before[0])
    assert len({r.tobytes() for r in rows}) == 1000  # every added row its own
    q = np.frombuffer(table.read_bytes(), np.uint8).reshape(1000, 4 + dim)[:, 4:].view(np.int8)
    assert (np.abs(q).max(axis=1) == 127).all()  # per-row scale: each row reaches ±127
    assert 0.9 < rows[10:].std() < 1.1  # N(0, 1), as an embedding is drawn
    with pytest.raises(Exception, match="already has 1000 rows"):
        widen_token_table(table, wide, 500, seed=1)


def test_widened_package_matches_the_direct_package(checkpoints, tmp_path):
    """The package path: the narrow checkpoint's package widened equals the full one's in every
    text_llm file and its manifest entries; with table rows asked for, the manifest lists the
    new table (rows, bytes, digest) and onnxruntime runs the widened graph."""
    import onnxruntime as ort

    from editmgt_export.checkpoint import load_checkpoint
    from editmgt_export.package import read_manifest, sha256, write_package
    from editmgt_export.text_table import read_rows
    from editmgt_export.widen import widen_text_llm

    full, narrow = checkpoints
    built = {}
    for name, ckpt in (("full", full), ("narrow", narrow)):
        built[name] = write_package(
            load_checkpoint(ckpt), tmp_path / name, ["q4"], name, str(ckpt), dated=False, chunk_bytes=1 << 20
        )
    manifest = widen_text_llm(tmp_path / "narrow", "q4", NARROW, FULL, LAYERS, weights_of(full))
    assert files_of(tmp_path / "narrow" / "q4" / "text_llm.onnx") == files_of(
        tmp_path / "full" / "q4" / "text_llm.onnx"
    )
    text = lambda m: [f for f in m["files"] if f["path"].startswith("q4/text_llm.")]  # noqa: E731
    assert text(manifest) == text(built["full"])
    assert manifest["dtypes"] == built["full"]["dtypes"]

    manifest = widen_text_llm(tmp_path / "full", "q4", FULL, FULL, LAYERS, weights_of(full), table_rows=4000)
    assert read_manifest(tmp_path / "full") == manifest
    table = manifest["dtypes"]["q4"]["graphs"]["text_llm"]["token_table"]
    assert table["rows"] == 4000
    for f in manifest["files"]:
        path = tmp_path / "full" / f["path"]
        assert (path.stat().st_size, sha256(path)) == (f["bytes"], f["sha256"])
    ids = np.array([[1, 3999, 7]])
    rows = read_rows(tmp_path / "full" / table["file"], table, ids)
    session = ort.InferenceSession(str(tmp_path / "full" / "q4" / "text_llm.onnx"))
    feeds = {
        "inputs_embeds": np.repeat(rows, 256 // 3 + 1, axis=1)[:, :256],
        "attention_mask": np.ones((1, 256), np.int64),
    }
    (hidden,) = session.run(None, feeds)
    assert hidden.shape == (1, 256, 32) and np.isfinite(hidden).all()
