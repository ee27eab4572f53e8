"""Export the five graphs to fp32 ONNX (opset 18, torch dynamo exporter)."""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .external_data import CHUNK_BYTES, remove_chunks, save_chunked
from .graphs import TRACED_IO, TextClip, TextLlm, TransformerStep, VqDecode, VqEncode
from .vq_decoder import SPLIT_ABOVE_BYTES, wide_tail_bytes

OPSET = 18


def export_graph(
    module: torch.nn.Module,
    args: tuple,
    path: Path,
    graph: str,
    batch_dynamic: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
) -> Path:
    inputs, outputs = TRACED_IO[graph]
    dynamic_shapes = None
    if batch_dynamic:
        batch = torch.export.Dim("batch", min=1, max=64)
        dynamic_shapes = {name: {0: batch} for name in inputs}
    module.eval()
    with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        program = torch.onnx.export(
            module,
            args,
            input_names=inputs,
            output_names=outputs,
            opset_version=OPSET,
            dynamo=True,
            dynamic_shapes=dynamic_shapes,
            optimize=True,
            verbose=False,
        )
    model = program.model_proto
    del program  # its folded constants are copies: free them before folding more
    gc.collect()
    model = fold_weight_layouts(strip_metadata(model))
    save_model(model, path, chunk_bytes=chunk_bytes)
    return path


LAYOUT_OPS = {"Transpose", "Gather", "Squeeze", "Unsqueeze", "Reshape", "Identity", "Slice"}


def _layout(node: onnx.NodeProto, args: list) -> np.ndarray:
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    x = args[0]
    op = node.op_type
    if op == "Transpose":
        return np.transpose(x, attrs.get("perm", list(range(x.ndim))[::-1]))
    if op == "Gather":
        return np.take(x, args[1], axis=attrs.get("axis", 0))
    if op == "Squeeze":
        axes = args[1] if len(args) > 1 and args[1] is not None else attrs.get("axes")
        return np.squeeze(x, axis=None if axes is None else tuple(int(a) for a in np.ravel(axes)))
    if op == "Unsqueeze":
        axes = args[1] if len(args) > 1 else attrs["axes"]
        rank = x.ndim + len(np.ravel(axes))
        for a in sorted(int(a) % rank for a in np.ravel(axes)):
            x = np.expand_dims(x, a)
        return x
    if op == "Reshape":
        shape = [x.shape[i] if d == 0 and not attrs.get("allowzero", 0) else int(d) for i, d in enumerate(args[1])]
        return np.reshape(x, shape)
    if op == "Identity":
        return x
    starts, ends = args[1], args[2]  # Slice
    axes = args[3] if len(args) > 3 and args[3] is not None else range(len(starts))
    steps = args[4] if len(args) > 4 and args[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for a, b, e, st in zip(axes, starts, ends, steps):
        index[int(a)] = slice(int(b), int(e), int(st))
    return x[tuple(index)]


def drop_initializer(model: onnx.ModelProto, name: str) -> None:
    """Remove an initializer by name (list.remove would compare whole tensors)."""
    for k, t in enumerate(model.graph.initializer):
        if t.name == name:
            del model.graph.initializer[k]
            return


def fold_weight_layouts(model: onnx.ModelProto) -> onnx.ModelProto:
    """Fold layout ops (transpose, slice, squeeze, ...) applied to weights into new weights.

    The exporter's constant folding skips tensors over 256 K elements, so a full-size model keeps
    MatMul(x, Transpose(W)); weight-only quantisers need W itself as the MatMul's constant input.
    Layout ops never grow a tensor, so folding them costs no memory.
    """
    inits = {t.name: t for t in model.graph.initializer}
    uses: dict[str, int] = {}
    for n in model.graph.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    for o in model.graph.output:
        uses[o.name] = uses.get(o.name, 0) + 1
    kept = []
    for node in model.graph.node:
        ins = [i for i in node.input if i]
        if node.op_type not in LAYOUT_OPS or not ins or not all(i in inits for i in ins):
            kept.append(node)
            continue
        args = [numpy_helper.to_array(inits[i]) if i else None for i in node.input]
        tensor = numpy_helper.from_array(np.ascontiguousarray(_layout(node, args)), node.output[0])
        del args
        model.graph.initializer.append(tensor)
        inits[node.output[0]] = tensor
        for i in ins:  # drop a weight as soon as nothing reads it (a full-size model has no room for two copies)
            uses[i] -= 1
            if uses[i] == 0:
                drop_initializer(model, inits.pop(i).name)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return model


def strip_metadata(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop the exporter's per-node stack traces and names of source modules (they triple the size)."""

    def walk(graph):
        for node in graph.node:
            del node.metadata_props[:]
            node.doc_string = ""
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)
        for vi in list(graph.value_info) + list(graph.input) + list(graph.output):
            del vi.metadata_props[:]
        for t in graph.initializer:
            del t.metadata_props[:]

    walk(model.graph)
    del model.metadata_props[:]
    model.producer_name = "editmgt_export"
    return model


def save_model(model: onnx.ModelProto, path: Path, external: bool = True, chunk_bytes: int = CHUNK_BYTES) -> None:
    """Save with the weights in external-data chunks (``<name>.onnx.data``, ``.data_1``, …; see
    external_data.py): every package graph, whatever its size, so a runtime never copies a graph's
    weights into its heap along with the graph, and no file reaches 2 GiB. ``external=False``
    keeps them inside (test graphs)."""
    path = Path(path)
    if external:
        save_chunked(model, path, chunk_bytes)
    else:
        path.unlink(missing_ok=True)
        remove_chunks(path)
        onnx.save_model(model, str(path))


def export_all(
    ckpt,
    folder: Path,
    token_grid: tuple[int, int],
    resolution: int,
    attention_blocks: list[int],
    text_len: int = 256,
    clip_len: int = 77,
    graphs=None,
    chunk_bytes: int = CHUNK_BYTES,
) -> dict[str, Path]:
    """Write fp32 graphs into ``folder``; returns graph name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    h, w = token_grid
    d_llm = ckpt.transformer.config.joint_attention_dim
    d_clip = ckpt.transformer.config.pooled_projection_dim
    i32, i64 = torch.int32, torch.int64
    # the VQ decoder's wide full-resolution tensors as channel parts, where one would exceed
    # WebGPU's default storage binding (vq_decoder.py)
    split_vq = wide_tail_bytes(ckpt.vq.decoder, resolution) > SPLIT_ABOVE_BYTES
    specs = {
        "text_clip": (lambda: TextClip(ckpt.clip), lambda: (torch.zeros(2, clip_len, dtype=i64),), True),
        "text_llm": (
            lambda: TextLlm(ckpt.llm),
            lambda: (torch.zeros(2, text_len, dtype=i64), torch.ones(2, text_len, dtype=i64)),
            True,
        ),
        "vq_encode": (lambda: VqEncode(ckpt.vq), lambda: (torch.rand(1, 3, resolution, resolution),), False),
        "vq_decode": (
            lambda: VqDecode(ckpt.vq, split_tail=split_vq),
            lambda: (torch.zeros(1, h, w, dtype=i32),),
            False,
        ),
        "transformer_step": (
            lambda: TransformerStep(ckpt.transformer, token_grid, text_len, attention_blocks),
            lambda: (
                torch.zeros(1, h, w, dtype=i32),
                torch.zeros(1, h, w, dtype=i32),
                torch.randn(2, text_len, d_llm),
                torch.randn(2, d_clip),
                torch.tensor([[float(resolution), float(resolution), 0, 0, 6]]),
                torch.tensor([1.0]),
                torch.tensor([6.0]),
                torch.tensor([0.0953]),
                torch.ones(text_len),
                torch.rand(1, h * w),
            ),
            False,
        ),
    }
    paths = {}
    for name, (make, make_args, dyn) in specs.items():
        if graphs is not None and name not in graphs:
            continue
        paths[name] = export_graph(
            make(), make_args(), folder / f"{name}.onnx", name, batch_dynamic=dyn, chunk_bytes=chunk_bytes
        )
    return paths
