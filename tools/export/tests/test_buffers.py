"""The largest-buffer count: shapes from static inference, weights and activations apart."""

import numpy as np
import onnx
from export_helpers import TINY_PACKAGE
from onnx import TensorProto, helper, numpy_helper

GRAPHS = ("text_clip", "text_llm", "vq_encode", "vq_decode", "transformer_step")


def test_counts_the_largest_activation_and_weight_from_shapes(tmp_path):
    from editmgt_export.buffers import largest_buffers

    # x [batch, 3, 5] @ w [5, 700] -> y [batch, 3, 700]; the batch is dynamic (counted as 2)
    w = numpy_helper.from_array(np.zeros((5, 700), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 5])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        [w],
    )
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    got = largest_buffers(path)
    assert got["weight"].name == "w" and got["weight"].bytes == 5 * 700 * 4
    assert got["activation"].bytes == 2 * 3 * 700 * 4
    # an entry nothing computes (left by a conversion that replaced a table) is no buffer
    graph.value_info.append(helper.make_tensor_value_info("old_table", TensorProto.FLOAT, [50000, 1024]))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    assert largest_buffers(path)["activation"].bytes == 2 * 3 * 700 * 4


def test_quantised_weights_are_smaller_and_activations_unchanged():
    from editmgt_export.buffers import package_max_buffer

    fp32 = package_max_buffer({g: TINY_PACKAGE / "fp32" / f"{g}.onnx" for g in GRAPHS})[1]
    q4 = package_max_buffer({g: TINY_PACKAGE / "q4" / f"{g}.onnx" for g in GRAPHS})[1]
    assert q4["transformer_step"]["weight_bytes"] < fp32["transformer_step"]["weight_bytes"] / 4
    assert q4["transformer_step"]["activation_bytes"] == fp32["transformer_step"]["activation_bytes"] > 0


def test_the_package_records_its_largest_buffer():
    """config.max_buffer_bytes is the largest weight or activation over every graph of every dtype."""
    import json

    from editmgt_export.buffers import largest_buffers

    m = json.loads((TINY_PACKAGE / "manifest.json").read_text())
    files = {g["file"] for e in m["dtypes"].values() for g in e["graphs"].values()}
    want = max(b.bytes for f in files for b in largest_buffers(TINY_PACKAGE / f).values())
    assert m["config"]["max_buffer_bytes"] == want > 0
    for d, e in m["dtypes"].items():
        mine = max(b.bytes for g in e["graphs"].values() for b in largest_buffers(TINY_PACKAGE / g["file"]).values())
        assert e["max_buffer_bytes"] == mine, d
    assert max(e["max_buffer_bytes"] for e in m["dtypes"].values()) == want
    # float16 activations: the fp16 entry needs less than the fp32 one
    assert m["dtypes"]["fp16"]["max_buffer_bytes"] < m["dtypes"]["fp32"]["max_buffer_bytes"]


def test_relayout_writes_the_largest_buffer(tmp_path):
    import json
    import shutil

    from editmgt_export.relayout import relayout_package

    pkg = tmp_path / "pkg"
    shutil.copytree(TINY_PACKAGE, pkg)
    m = json.loads((pkg / "manifest.json").read_text())
    want = m["config"].pop("max_buffer_bytes", None)
    per = {d: e.pop("max_buffer_bytes", None) for d, e in m["dtypes"].items()}
    (pkg / "manifest.json").write_text(json.dumps(m))
    got = relayout_package(pkg)
    assert got["config"]["max_buffer_bytes"] == want and want is not None
    assert {d: e["max_buffer_bytes"] for d, e in got["dtypes"].items()} == per and None not in per.values()


def test_convert_defaults_to_the_browser_resolution():
    from editmgt_export.__main__ import build_parser

    args = build_parser().parse_args(["convert", "--source", "x", "--out", "y"])
    assert args.resolution == 512
    assert (
        build_parser().parse_args(["convert", "--source", "x", "--out", "y", "--resolution", "1024"]).resolution == 1024
    )
