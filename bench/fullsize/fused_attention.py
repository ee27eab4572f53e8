"""Writes the fused-attention check's inputs (bench/fullsize/fusedAttention.ts): one
com.microsoft.MultiHeadAttention node, q/k/v [1, S, N·H] with an additive attention bias
[1, 1, S, T] (the step's reference-strength bias is such a bias), random feeds, and the
reference output: softmax(q kᵀ/√H + bias) v per head in float64, the step's own formula.

    tools/export/.venv/bin/python bench/fullsize/fused_attention.py --out DIR [--shape S,T,N,H]

Prints one JSON line: onnxruntime (CPU)'s max |Δ| to the formula.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--shape", default="768,768,8,128")  # the 512 px step: text + image + reference
    a = p.parse_args()
    s, t, n, h = (int(x) for x in a.shape.split(","))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, length, n * h)).astype(np.float32) for length in (s, t, t))
    bias = (np.log(1.1) * (rng.random((1, 1, s, t)) > 0.5)).astype(np.float32)
    node = helper.make_node(
        "MultiHeadAttention", ["q", "k", "v", "", "", "bias"], ["y"], domain="com.microsoft", num_heads=n
    )
    value = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)  # noqa: E731
    graph = helper.make_graph(
        [node],
        "fused_attention",
        [value("q", [1, s, n * h]), value("k", [1, t, n * h]), value("v", [1, t, n * h]), value("bias", [1, 1, s, t])],
        [value("y", [1, s, n * h])],
    )
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets, ir_version=10), str(out / "attention.onnx"))
    heads = lambda x: x.astype(np.float64).reshape(1, -1, n, h).transpose(0, 2, 1, 3)  # noqa: E731
    scores = heads(q) @ heads(k).transpose(0, 1, 3, 2) / np.sqrt(h) + bias
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    ref = (probs @ heads(v)).transpose(0, 2, 1, 3).reshape(1, s, n * h)
    feeds = {"q": q, "k": k, "v": v, "bias": bias}
    cpu = ort.InferenceSession(str(out / "attention.onnx"), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    for name, x in {**feeds, "ref": ref.astype(np.float32)}.items():
        x.astype("<f4").tofile(out / f"{name}.f32")
    (out / "shapes.json").write_text(json.dumps({name: list(x.shape) for name, x in feeds.items()}))
    print(json.dumps({"shape": [s, t, n, h], "onnxruntime_cpu_max_abs_diff": float(np.abs(cpu - ref).max())}))


if __name__ == "__main__":
    main()
