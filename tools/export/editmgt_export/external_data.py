"""Graph weights as ONNX external data in chunk files beside the graph.

``<graph>.onnx`` keeps the graph; its weights go to ``<graph>.onnx.data``, ``<graph>.onnx.data_1``, …,
each at most CHUNK_BYTES unless one tensor alone is larger. The graph names each tensor's chunk by
file name (the ONNX convention), so a runtime finds them beside the graph, and the manifest lists
them in order. Chunks stay under 2 GiB: Chromium cannot read back a file of 2 GiB or more from its
private storage, and one ArrayBuffer cannot hold one.
"""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from onnx import numpy_helper

CHUNK_BYTES = 1 << 30
MAX_CHUNK_BYTES = 2**31 - 1
# Tensors smaller than this stay inside the graph (shapes, axes, scalars the runtime folds).
INLINE_BYTES = 1024


def chunk_name(graph_file: str, index: int) -> str:
    return f"{graph_file}.data" if index == 0 else f"{graph_file}.data_{index}"


def chunk_paths(path: Path) -> list[Path]:
    """The chunk files beside ``path``, in order (stops at the first missing one)."""
    path = Path(path)
    out = []
    while (p := path.with_name(chunk_name(path.name, len(out)))).exists():
        out.append(p)
    return out


def remove_chunks(path: Path) -> None:
    path = Path(path)
    for p in path.parent.glob(f"{path.name}.data*"):
        if p.name == f"{path.name}.data" or p.name[len(path.name) + 6 :].isdigit():
            p.unlink()


def _tensors(model: onnx.ModelProto):
    """Initializers of the graph and of its subgraphs."""

    def walk(graph):
        yield from graph.initializer
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    yield from walk(attr.g)

    yield from walk(model.graph)


def save_chunked(model: onnx.ModelProto, path: Path, chunk_bytes: int = CHUNK_BYTES) -> list[Path]:
    """Write ``model`` to ``path`` with every initializer of INLINE_BYTES or more in chunk files.
    Tensors are placed in graph order; a new chunk starts when the next tensor would take the
    current one past ``chunk_bytes``; a tensor larger than that gets a chunk of its own (a package
    refuses a chunk of 2 GiB or more: build_manifest). Returns the chunk paths."""
    path = Path(path)
    path.unlink(missing_ok=True)
    remove_chunks(path)
    chunks: list[Path] = []
    out = None
    used = 0
    try:
        for tensor in _tensors(model):
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                raise ValueError(f"tensor {tensor.name} still refers to external data; load the model with its data")
            if not tensor.HasField("raw_data"):
                if tensor.data_type == onnx.TensorProto.STRING:
                    continue
                # every tensor as raw bytes (a quantiser's scalars come as typed fields): its
                # bytes then sit at one place in the graph file whatever its values (template.py)
                tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor), tensor.name))
            data = tensor.raw_data
            if len(data) < INLINE_BYTES:
                continue
            if out is None or (used and used + len(data) > chunk_bytes):
                if out is not None:
                    out.close()
                chunks.append(path.with_name(chunk_name(path.name, len(chunks))))
                out = open(chunks[-1], "wb")
                used = 0
            out.write(data)
            del tensor.external_data[:]
            for key, value in (("location", chunks[-1].name), ("offset", str(used)), ("length", str(len(data)))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            tensor.data_location = onnx.TensorProto.EXTERNAL
            tensor.ClearField("raw_data")
            used += len(data)
    finally:
        if out is not None:
            out.close()
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    mode = 0o666 & ~current_umask()
    for p in [path, *chunks]:
        os.chmod(p, mode)
    return chunks


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
