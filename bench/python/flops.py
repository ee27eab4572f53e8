"""FLOPs of one run of an ONNX graph, counted from its matrix products.

Shapes come from ONNX shape inference with the graph's inputs fixed (dynamic dims given on the
command line). MatMul, Gemm, MatMulNBits, MatMulInteger, Conv and ConvTranspose are counted at two
FLOPs per multiply-add; element-wise work is ignored (it is memory-bound and small next to them).

Usage: python flops.py GRAPH.onnx [name=dim ...]   prints JSON {"gflops": …, "by_op": {…}}
"""

from __future__ import annotations

import json
import math
import sys

import onnx
from onnx import shape_inference


def _dims(value_info) -> list[int] | None:
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    out = []
    for d in t.shape.dim:
        if not d.HasField("dim_value"):
            return None
        out.append(d.dim_value)
    return out


def _fix_inputs(model: onnx.ModelProto, overrides: dict[str, int]) -> None:
    for inp in model.graph.input:
        for d in inp.type.tensor_type.shape.dim:
            if d.HasField("dim_param"):
                name = d.dim_param
                d.Clear()
                d.dim_value = overrides.get(name, 1)


def count_flops(path: str, overrides: dict[str, int] | None = None) -> dict:
    model = onnx.load(path, load_external_data=False)
    _fix_inputs(model, overrides or {})
    try:
        model = shape_inference.infer_shapes(model, data_prop=True)
    except Exception:
        # An fp16 conversion can leave float32 annotations on intermediates, which inference then
        # refuses; keep their shapes (contrib ops such as MatMulNBits are not inferred) but not
        # their element types.
        for vi in model.graph.value_info:
            vi.type.tensor_type.elem_type = onnx.TensorProto.UNDEFINED
        model = shape_inference.infer_shapes(model, data_prop=True)
    shapes: dict[str, list[int]] = {}
    for vi in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        d = _dims(vi)
        if d is not None:
            shapes[vi.name] = d
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    attrs = lambda node: {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}  # noqa: E731

    by_op: dict[str, float] = {}
    unknown = 0
    for node in model.graph.node:
        op = node.op_type
        flops = None
        out = shapes.get(node.output[0]) if node.output else None
        if op in ("MatMul", "MatMulInteger") and out is not None:
            a = shapes.get(node.input[0])
            if a is not None:
                flops = 2 * math.prod(out) * a[-1]
        elif op == "MatMulNBits" and out is not None:
            k = attrs(node)["K"]
            flops = 2 * math.prod(out) * k
        elif op == "Gemm" and out is not None:
            a = shapes.get(node.input[0])
            if a is not None:
                k = a[0] if attrs(node).get("transA", 0) else a[1]
                flops = 2 * math.prod(out) * k
        elif op == "Conv" and out is not None:
            w = shapes.get(node.input[1])  # [C_out, C_in/group, k...]
            if w is not None:
                flops = 2 * math.prod(out) * math.prod(w[1:])
        elif op == "ConvTranspose":
            w = shapes.get(node.input[1])  # [C_in, C_out/group, k...]: each input scatters
            x = shapes.get(node.input[0])
            if w is not None and x is not None:
                flops = 2 * math.prod(x) * math.prod(w[1:])
        else:
            continue
        if flops is None:
            unknown += 1
            continue
        by_op[op] = by_op.get(op, 0.0) + flops
    total = sum(by_op.values())
    return {"gflops": total / 1e9, "by_op": {k: v / 1e9 for k, v in by_op.items()}, "uncounted_nodes": unknown}


if __name__ == "__main__":
    overrides = dict((kv.split("=")[0], int(kv.split("=")[1])) for kv in sys.argv[2:])
    print(json.dumps(count_flops(sys.argv[1], overrides)))
