"""The largest-buffer count: shapes from static inference, weights and activations apart."""
import onnx
from onnx import TensorProto, helper, numpy_helper
import numpy as np

from export_helpers import TINY_PACKAGE

GRAPHS = ("text_clip", "text_llm", "vq_encode", "vq_decode", "transformer_step")


def test_counts_the_largest_activation_and_weight_from_shapes(tmp_path):
    from editmgt_export.buffers import largest_buffers

    # x [batch, 3, 5] @ w [5, 700] -> y [batch, 3, 700]; the batch is dynamic (counted as 2)
    w = numpy_helper.from_array(np.zeros((5, 700), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Relu", ["y"], ["z"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 5])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], [w])
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    got = largest_buffers(path)
    assert got["weight"].name == "w" and got["weight"].bytes == 5 * 700 * 4
    assert got["activation"].bytes == 2 * 3 * 700 * 4


def test_quantised_weights_are_smaller_and_activations_unchanged():
    from editmgt_export.buffers import package_max_buffer

    fp32 = package_max_buffer({g: TINY_PACKAGE / "fp32" / f"{g}.onnx" for g in GRAPHS})[1]
    q4 = package_max_buffer({g: TINY_PACKAGE / "q4" / f"{g}.onnx" for g in GRAPHS})[1]
    assert q4["transformer_step"]["weight_bytes"] < fp32["transformer_step"]["weight_bytes"] / 4
    assert q4["transformer_step"]["activation_bytes"] == fp32["transformer_step"]["activation_bytes"] > 0
