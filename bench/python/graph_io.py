"""Inputs of an ONNX graph (name, element type, shape), read without its external data.

Usage: python graph_io.py GRAPH.onnx   prints JSON {"inputs": [{"name", "dtype", "shape"}]}
"""

from __future__ import annotations

import json
import sys

import onnx

_TYPES = {
    onnx.TensorProto.FLOAT: "float32",
    onnx.TensorProto.INT32: "int32",
    onnx.TensorProto.INT64: "int64",
    onnx.TensorProto.FLOAT16: "float16",
    onnx.TensorProto.UINT8: "uint8",
    onnx.TensorProto.BOOL: "bool",
}


def graph_inputs(path: str) -> list[dict]:
    model = onnx.load(path, load_external_data=False)
    out = []
    for i in model.graph.input:
        t = i.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.shape.dim]
        out.append({"name": i.name, "dtype": _TYPES.get(t.elem_type, str(t.elem_type)), "shape": shape})
    return out


if __name__ == "__main__":
    print(json.dumps({"inputs": graph_inputs(sys.argv[1])}))
