"""The largest single tensors a graph needs at run time, from its static shapes: what a GPU has to
hold in one buffer (WebGPU's maxBufferSize / maxStorageBufferBindingSize; 128–256 MiB on many
adapters). Weights (initializers) and activations (every value the graph computes) are counted
apart: text-encoder batch dimensions are dynamic, so their activations are sized at batch 2 (a
prompt and the negative prompt, as the engine runs them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, shape_inference

DYNAMIC_DIM = 2  # the text encoders' batch: the prompt and the negative prompt


@dataclass(frozen=True)
class Largest:
    name: str
    bytes: int


def _elem_bytes(elem_type: int) -> float:
    if elem_type in (onnx.TensorProto.INT4, onnx.TensorProto.UINT4):
        return 0.5
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).itemsize


def _value_bytes(t: onnx.TypeProto) -> int | None:
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    n = 1
    for d in t.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            n *= d.dim_value
        else:
            n *= DYNAMIC_DIM
    return int(n * _elem_bytes(t.tensor_type.elem_type))


def largest_buffers(path: Path) -> dict[str, Largest]:
    """{"weight": largest initializer, "activation": largest computed value} of the graph at `path`
    (external data is not read: sizes come from the declared shapes)."""
    model = onnx.load(str(path), load_external_data=False)
    model = shape_inference.infer_shapes(model, data_prop=True)
    g = model.graph
    weight = Largest("", 0)
    for init in g.initializer:
        b = int(np.prod(init.dims, dtype=np.int64) * _elem_bytes(init.data_type))
        if b > weight.bytes:
            weight = Largest(init.name, b)
    activation = Largest("", 0)
    # values something computes or feeds: an exporter may also list an initializer as a value,
    # and a conversion that replaced an initializer (a quantised weight or token table) can leave
    # the old one's entry behind, which nothing computes
    computed = {o for n in g.node for o in n.output} | {i.name for i in g.input}
    for v in list(g.value_info) + list(g.output) + list(g.input):
        if v.name not in computed:
            continue
        b = _value_bytes(v.type)
        if b is not None and b > activation.bytes:
            activation = Largest(v.name, b)
    return {"weight": weight, "activation": activation}


def package_max_buffer(graph_paths: dict[str, Path]) -> tuple[int, dict[str, dict[str, int]]]:
    """The largest single buffer over a dtype's graphs, and per graph its largest weight and activation."""
    per_graph = {}
    for graph, path in graph_paths.items():
        lb = largest_buffers(path)
        per_graph[graph] = {"weight_bytes": lb["weight"].bytes, "activation_bytes": lb["activation"].bytes}
    top = max((max(v.values()) for v in per_graph.values()), default=0)
    return top, per_graph


def dtype_max_buffer(package: Path, entry: dict) -> int:
    """A dtype entry's ``max_buffer_bytes``: the largest buffer over its graphs (its VQ graphs may
    be float32 beside a 4-bit transformer, so dtypes differ: at 512 px the float32 VQ graphs need
    128 MiB, the float16 ones 64 MiB)."""
    files = sorted({g["file"] for g in entry["graphs"].values()})
    return max((max(b.bytes for b in largest_buffers(Path(package) / f).values()) for f in files), default=0)


def manifest_max_buffer(package: Path, dtypes: dict) -> int:
    """``config.max_buffer_bytes``: the largest single buffer (weight or activation) over every
    graph of every dtype entry of a package (``dtypes`` is the manifest's ``dtypes``). One number
    for the package, since the worker checks it before it picks a dtype; the dtypes differ in
    their weights (small beside the activations once the text tables are out of the graphs) and
    only fp16 halves the activations, so the package's largest is its float32 dtypes' largest."""
    files = {g["file"] for entry in dtypes.values() for g in entry["graphs"].values()}
    return max((max(b.bytes for b in largest_buffers(Path(package) / f).values()) for f in sorted(files)), default=0)
