"""Gemma's token table out of the text_llm graph: the graph takes the rows as inputs_embeds, the
package carries the table as a file, and the result is bit-identical to the lookup in the graph."""

import json

import numpy as np
import onnx
import pytest
from export_helpers import TINY_PACKAGE

DTYPES = ["fp32", "fp16", "q4", "q4f16", "q8"]


@pytest.fixture(scope="module")
def fp32_with_lookup(tiny_ckpt, tmp_path_factory):
    """text_llm exported as traced: input_ids, the table inside."""
    from editmgt_export.onnx_export import export_all

    folder = tmp_path_factory.mktemp("fp32")
    return export_all(tiny_ckpt, folder, (16, 16), 64, [2, 3], graphs=["text_llm"])["text_llm"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_moving_the_table_out_changes_no_bit(dtype, fp32_with_lookup, tmp_path):
    """Every dtype's text_llm: with the table in the graph (ids) and out of it (the rows the
    engine reads, as inputs_embeds), the hidden states are identical (max abs error 0)."""
    import onnxruntime as ort

    from editmgt_export.dtypes import convert_graph
    from editmgt_export.text_table import move_token_table, read_rows

    graph = convert_graph(fp32_with_lookup, dtype, tmp_path / "text_llm.onnx", "text_llm", 1 << 20)
    ids = np.random.default_rng(0).integers(0, 385, (2, 256)).astype(np.int64)
    mask = np.ones_like(ids)
    before = ort.InferenceSession(str(graph)).run(None, {"input_ids": ids, "attention_mask": mask})[0]
    desc = move_token_table(graph, 1 << 20)
    assert desc["rows"] == 385 and desc["format"] == {"fp32": "float32", "fp16": "float16"}.get(dtype, "int8")
    model = onnx.load(str(graph), load_external_data=False)
    assert [i.name for i in model.graph.input] == ["inputs_embeds", "attention_mask"]
    assert not any(len(t.dims) == 2 and t.dims[0] == 385 for t in model.graph.initializer)  # no table left
    rows = read_rows(graph.with_name("text_llm.table"), desc, ids)
    after = ort.InferenceSession(str(graph)).run(None, {"inputs_embeds": rows, "attention_mask": mask})[0]
    assert np.abs(before.astype(np.float32) - after.astype(np.float32)).max() == 0


def test_a_graph_without_a_lookup_is_refused(tmp_path):
    from editmgt_export.errors import ExportError
    from editmgt_export.text_table import take_token_table

    model = onnx.load(str(TINY_PACKAGE / "fp32" / "text_llm.onnx"))  # its table is out already
    with pytest.raises(ExportError, match="no input_ids input"):
        take_token_table(model, TINY_PACKAGE / "fp32")


@pytest.mark.parametrize("package", [TINY_PACKAGE, TINY_PACKAGE.parent / "shapes"])
def test_shipped_packages_list_their_tables(package):
    m = json.loads((package / "manifest.json").read_text())
    sizes = {f["path"]: f["bytes"] for f in m["files"]}
    for dtype, entry in m["dtypes"].items():
        t = entry["graphs"]["text_llm"]["token_table"]
        assert sizes[t["file"]] == t["rows"] * t["row_bytes"], dtype
        assert t["dim"] == m["config"]["text"]["llm_dim"]
    assert [i["name"] for i in m["graphs"]["text_llm"]["inputs"]] == ["inputs_embeds", "attention_mask"]
