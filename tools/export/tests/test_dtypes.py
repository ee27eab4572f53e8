"""Graph rewrites used by the dtype conversions."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from editmgt_export.dtypes import add_inferred_shapes, gemm_to_matmul, to_q4


def _gemm_model(trans_b: int, bias: bool, shared: bool = False) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 32) if trans_b else (32, 64)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w")]
    inputs = ["x", "w"]
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(64).astype(np.float32), "b"))
        inputs.append("b")
    nodes = [helper.make_node("Gemm", inputs, ["y"], name="g", transB=trans_b)]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 64])]
    if shared:  # a second user of the weight keeps the original tensor alive
        nodes.append(helper.make_node("Identity", ["w"], ["w_out"]))
        outputs.append(helper.make_tensor_value_info("w_out", TensorProto.FLOAT, list(w.shape)))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 32])], outputs, inits
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})


def test_gemm_to_matmul_is_exact():
    x = np.random.default_rng(1).standard_normal((3, 32)).astype(np.float32)
    for trans_b in (0, 1):
        for bias in (False, True):
            for shared in (False, True):
                model = _gemm_model(trans_b, bias, shared)
                want = _run(model, x)
                rewritten = gemm_to_matmul(_gemm_model(trans_b, bias, shared))
                ops = [n.op_type for n in rewritten.graph.node]
                assert "Gemm" not in ops and "MatMul" in ops
                assert ("w" in {t.name for t in rewritten.graph.initializer}) == shared
                got = _run(rewritten, x)
                for a, b in zip(got, want):
                    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-5)


def test_q4_covers_former_gemms():
    q4 = to_q4(_gemm_model(1, True))
    assert [n.op_type for n in q4.graph.node if n.op_type in ("Gemm", "MatMul", "MatMulNBits")] == ["MatMulNBits"]


def test_inferred_shapes_without_weight_data():
    model = _gemm_model(1, True)
    add_inferred_shapes(model)
    assert numpy_helper.to_array(model.graph.initializer[0]).shape == (64, 32)  # the weights keep their data
    big = _gemm_model(1, True)
    big.graph.node[0].output[0] = "mid"
    big.graph.node.append(helper.make_node("Relu", ["mid"], ["y"]))
    add_inferred_shapes(big)
    mid = next(v for v in big.graph.value_info if v.name == "mid")
    assert [d.dim_value for d in mid.type.tensor_type.shape.dim] == [3, 64]


def test_int8_embedding_rows():
    import onnxruntime as ort

    from editmgt_export.dtypes import quantize_embedding_tables

    table = np.random.default_rng(2).standard_normal((50, 16)).astype(np.float32)
    table[3] = 0  # an all-zero row keeps a usable scale
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["y"], axis=0)],
        "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [2, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, 16])],
        [numpy_helper.from_array(table, "table")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    q = quantize_embedding_tables(model)
    types = {t.name: t.data_type for t in q.graph.initializer}
    assert types == {"table_int8": TensorProto.INT8, "table_int8_scale": TensorProto.FLOAT}
    ids = np.array([[0, 3, 49, 7, 7], [1, 2, 3, 4, 5]], np.int64)
    got = ort.InferenceSession(q.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"ids": ids})[0]
    want = table[ids]
    assert np.abs(got - want).max() <= np.abs(table).max(axis=1).max() / 127 / 2 + 1e-6
    assert (got[0, 1] == 0).all()


def test_weight_layout_ops_fold_into_weights():
    """MatMul(x, Transpose(Squeeze(Gather(W)))) -> MatMul(x, W'), same result, then quantisable."""
    from editmgt_export.onnx_export import fold_weight_layouts

    w = np.random.default_rng(3).standard_normal((64, 32, 1, 1)).astype(np.float32)
    nodes = [
        helper.make_node("Slice", ["w", "st", "en", "ax"], ["w_s"]),
        helper.make_node("Squeeze", ["w_s", "sq"], ["w_2d"]),
        helper.make_node("Transpose", ["w_2d"], ["w_t"], perm=[1, 0]),
        helper.make_node("MatMul", ["x", "w_t"], ["y"]),
    ]
    inits = [
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(np.array([0, 0], np.int64), "st"),
        numpy_helper.from_array(np.array([1, 1], np.int64), "en"),
        numpy_helper.from_array(np.array([2, 3], np.int64), "ax"),
        numpy_helper.from_array(np.array([2, 3], np.int64), "sq"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 64])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    x = np.random.default_rng(4).standard_normal((3, 32)).astype(np.float32)
    want = _run(model, x)[0]
    folded = fold_weight_layouts(model)
    assert [n.op_type for n in folded.graph.node] == ["MatMul"]
    assert [t.name for t in folded.graph.initializer] == ["w_t"]
    np.testing.assert_allclose(_run(folded, x)[0], want, rtol=1e-6, atol=1e-6)
    assert [n.op_type for n in to_q4(folded).graph.node] == ["MatMulNBits"]


def test_fp16_sampling_tail_stays_float32():
    """From the last softmax on (draw, ids, probabilities) nothing is float16: float16 holds integers
    exactly only to 2048 (ids go to 8191) and rounds the uniforms and the cumulative sum."""
    from export_helpers import TINY_PACKAGE

    for dtype in ("fp16", "q4f16"):
        model = onnx.load(str(TINY_PACKAGE / dtype / "transformer_step.onnx"))
        add_inferred_shapes(model)
        types = {
            v.name: v.type.tensor_type.elem_type
            for v in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)
        }
        types.update({t.name: t.data_type for t in model.graph.initializer})
        nodes = list(model.graph.node)
        start = max(k for k, n in enumerate(nodes) if n.op_type == "Softmax")
        half = [
            n.name for n in nodes[start:] if any(types.get(x) == TensorProto.FLOAT16 for x in [*n.input, *n.output])
        ]
        assert not half, (dtype, half)
