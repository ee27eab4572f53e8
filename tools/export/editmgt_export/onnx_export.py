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
    weights: dict[str, dict] | None = None,
    provenance_out: dict | None = None,
) -> Path:
    """Export ``module`` to ``path``. ``weights`` names the initializers that hold checkpoint
    tensors ({initializer: {"subfolder", "tensor"}}; default: every entry of the module's
    state_dict, see checkpoint_weights). The optimiser never sees their values (structure from
    the config, weights from the checkpoint: see optimize_hiding_weights), and layout ops on them
    are folded with their provenance, which ``provenance_out`` receives where given: every weight
    initializer of the graph as {name: {"sources": [...], "transforms": [...]}} (weightmap.py)."""
    inputs, outputs = TRACED_IO[graph]
    dynamic_shapes = None
    if batch_dynamic:
        batch = torch.export.Dim("batch", min=1, max=64)
        dynamic_shapes = {name: {0: batch} for name in inputs}
    module.eval()
    if weights is None:
        weights = {n: {"subfolder": "", "tensor": n} for n in module.state_dict(keep_vars=True)}
    with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        logging.getLogger("onnx_ir").setLevel(logging.ERROR)
        program = torch.onnx.export(
            module,
            args,
            input_names=inputs,
            output_names=outputs,
            opset_version=OPSET,
            dynamo=True,
            dynamic_shapes=dynamic_shapes,
            optimize=False,
            verbose=False,
        )
        optimize_hiding_weights(program.model, set(weights))
    model = program.model_proto
    del program  # its folded constants are copies: free them before folding more
    gc.collect()
    provenance = {
        t.name: {
            "sources": [{"subfolder": weights[t.name]["subfolder"], "tensor": weights[t.name]["tensor"]}],
            "transforms": list(weights[t.name].get("transforms", [])),
        }
        for t in model.graph.initializer
        if t.name in weights
    }
    model = fold_weight_layouts(strip_metadata(model), provenance)
    save_model(model, path, chunk_bytes=chunk_bytes)
    if provenance_out is not None:
        live = {t.name for t in model.graph.initializer}
        provenance_out.update({k: v for k, v in provenance.items() if k in live})
    return path


def optimize_hiding_weights(model, weight_names: set[str]) -> None:
    """The torch exporter's optimiser (constant folding, rewrites, initializer dedup, CSE), run
    with the checkpoint's tensors shown to it as graph inputs: it folds and merges only what the
    config determines (shapes, rope tables, constants), never a weight. Run on the weights, its
    folding depended on their sizes (below 8,192 elements) and its dedup on their values (two
    equal biases became one initializer), and folded weights lost their names and provenance.
    Layout ops on weights are folded afterwards by fold_weight_layouts, which records them."""
    import onnxscript.optimizer
    import onnxscript.rewriter.onnx_fusions

    graph = model.graph
    hidden = []
    for name in list(graph.initializers):
        if name in weight_names:
            value = graph.initializers.pop(name)
            hidden.append((value, value.const_value))
            value.const_value = None
            graph.inputs.append(value)
    onnxscript.optimizer.optimize_ir(model)
    onnxscript.rewriter.onnx_fusions.fuse(model)
    kept = list(graph.initializers.values())
    for value in kept:
        graph.initializers.pop(value.name)
    for value, const in hidden:
        graph.inputs.remove(value)
        value.const_value = _unread_zeros(const)
        if value.uses() or value.is_graph_output():
            graph.register_initializer(value)
    for value in kept:
        graph.register_initializer(value)


def _unread_zeros(const):
    """A weight of a model built without its weights (checkpoint.load_checkpoint(...,
    weights=False)) as zeros that take no memory until serialised, one tensor at a time; its
    own pages are never read (they would stay resident: a full-size model's worth)."""
    raw = getattr(const, "raw", None)
    if not getattr(raw, "structure_zeros", False):
        return const
    from onnx_ir import Tensor

    return Tensor(np.broadcast_to(np.zeros((), const.dtype.numpy()), tuple(const.shape)), name=const.name)


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


def _transform(node: onnx.NodeProto, args: list, result: np.ndarray) -> dict | None:
    """The weight-map transform (weightmap.py's vocabulary) a layout op applies to its first
    input; None for an op that changes nothing."""
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    x = args[0]
    op = node.op_type
    if op == "Identity":
        return None
    if op == "Transpose":
        return {"op": "transpose", "perm": [int(p) for p in attrs.get("perm", list(range(x.ndim))[::-1])]}
    if op in ("Reshape", "Squeeze", "Unsqueeze"):
        return None if list(result.shape) == list(x.shape) else {"op": "reshape", "shape": list(result.shape)}
    if op == "Gather":
        return {"op": "gather", "axis": int(attrs.get("axis", 0)) % x.ndim, "indices": np.asarray(args[1]).tolist()}
    starts, ends = args[1], args[2]  # Slice: normalised to one [start, stop) and step per axis
    axes = args[3] if len(args) > 3 and args[3] is not None else range(len(starts))
    steps = args[4] if len(args) > 4 and args[4] is not None else [1] * len(starts)
    out = []
    for a, b, e, st in zip(axes, starts, ends, steps):
        axis = int(a) % x.ndim
        start, stop, step = slice(int(b), int(e), int(st)).indices(x.shape[axis])
        out.append({"axis": axis, "start": start, "stop": stop, "step": step})
    return {"op": "slice", "axes": out}


def fold_weight_layouts(model: onnx.ModelProto, provenance: dict[str, dict] | None = None) -> onnx.ModelProto:
    """Fold layout ops (transpose, slice, squeeze, ...) applied to weights into new weights.

    The exporter's constant folding skips tensors over 256 K elements, so a full-size model keeps
    MatMul(x, Transpose(W)); weight-only quantisers need W itself as the MatMul's constant input.
    Layout ops never grow a tensor, so folding them costs no memory.

    ``provenance`` ({initializer: {"sources", "transforms"}} for the checkpoint's weights) gains
    an entry for every folded weight: its source's, plus the op as a transform. A layout op that
    takes a weight in any input but its first is left in the graph.
    """
    provenance = {} if provenance is None else provenance
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
        if (
            node.op_type not in LAYOUT_OPS
            or not ins
            or not all(i in inits for i in ins)
            or any(i in provenance for i in node.input[1:])
        ):
            kept.append(node)
            continue
        args = [numpy_helper.to_array(inits[i]) if i else None for i in node.input]
        result = np.ascontiguousarray(_layout(node, args))
        source = provenance.get(node.input[0])
        if source is not None:
            step = _transform(node, args, result)
            provenance[node.output[0]] = {
                "sources": [dict(s) for s in source["sources"]],
                "transforms": [*source["transforms"], *([step] if step else [])],
            }
        model.graph.initializer.append(numpy_helper.from_array(result, node.output[0]))
        del args, result
        # appending copies the message: keep the graph's copy, so the weight is held once
        inits[node.output[0]] = model.graph.initializer[-1]
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
    provenance_out: dict | None = None,
) -> dict[str, Path]:
    """Write fp32 graphs into ``folder``; returns graph name -> path. ``provenance_out`` receives
    each graph's weight provenance ({graph: {initializer: {"sources", "transforms"}}})."""
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
    components = {
        "clip": (ckpt.clip, "text_encoder"),
        "lm": (ckpt.llm, "llm_encoder"),
        "vq": (ckpt.vq, "vqvae"),
        "transformer": (ckpt.transformer, ckpt.transformer_subfolder),
    }
    paths = {}
    for name, (make, make_args, dyn) in specs.items():
        if graphs is not None and name not in graphs:
            continue
        module = make()
        provenance: dict = {}
        weights = checkpoint_weights(module, components, ckpt.root)
        paths[name] = export_graph(
            module,
            make_args(),
            folder / f"{name}.onnx",
            name,
            batch_dynamic=dyn,
            chunk_bytes=chunk_bytes,
            weights=weights,
            provenance_out=provenance,
        )
        if provenance_out is not None:
            provenance_out[name] = provenance
            # parameters that are no checkpoint tensor (copies made for the graph, e.g. the VQ
            # decoder's channel parts): a template would hold their values as constants
            unmapped = [k for k, _ in module.named_parameters() if k not in weights]
            if unmapped:
                provenance_out.setdefault("unmapped", {})[name] = unmapped
    return paths


def _storage_key(t: torch.Tensor) -> tuple:
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()))


def _checkpoint_names(folder: Path) -> dict[str, str] | None:
    """Module tensor name -> the name a checkpoint subfolder stores it under, from the files the
    checkpoint reader reads (variant files beside the default ones are not; headers only), or
    None where the subfolder has no safetensors. A Gemma saved without the ``model.`` prefix maps
    to the causal LM's names."""
    from .checkpoint import gemma_module_names, tensor_files

    folder = Path(folder)
    if not any(folder.glob("*.safetensors")):
        return None
    stored = list(tensor_files(folder))
    if folder.name == "llm_encoder":
        return {module: name for name, module in gemma_module_names(stored).items()}
    return {name: name for name in stored}


def checkpoint_weights(module: torch.nn.Module, components: dict, root: Path) -> dict[str, dict]:
    """The graph module's state_dict entries that hold a checkpoint tensor:
    {name in the graph: {"subfolder", "tensor"}}. A component is found by the graph module's
    attribute (``clip``, ``lm``, ``vq``, ``transformer``); tied tensors (one storage, several
    names, e.g. Gemma's lm_head and token table) resolve to the name the checkpoint stores, and
    buffers the checkpoint does not store (computed from the config) are not weights."""
    by_storage: dict[tuple, tuple[str, str]] = {}
    for component, subfolder in components.values():
        if not any(m is component for m in module.modules()):
            continue
        stored = _checkpoint_names(Path(root) / subfolder)
        for key, t in component.state_dict(keep_vars=True).items():
            if stored is not None and key not in stored:
                continue
            by_storage.setdefault(_storage_key(t), (subfolder, stored[key] if stored is not None else key))
    by_base = {k[0]: (k, v) for k, v in by_storage.items()}
    out = {}
    for key, t in module.state_dict(keep_vars=True).items():
        hit = by_storage.get(_storage_key(t))
        if hit is not None:
            out[key] = {"subfolder": hit[0], "tensor": hit[1]}
            continue
        base = by_base.get(_storage_key(t)[0])
        if base is not None:  # a slice of a checkpoint tensor (the VQ decoder's channel parts)
            step = _slice_of(base[0], t)
            if step is not None:
                out[key] = {"subfolder": base[1][0], "tensor": base[1][1], "transforms": [step]}
    return out


def _slice_of(base_key: tuple, t: torch.Tensor) -> dict | None:
    """The slice transform that makes view ``t`` from the contiguous tensor described by
    ``base_key`` (storage, offset, shape, stride), or None where ``t`` is no such slice."""
    _, offset, shape, stride = base_key
    if tuple(t.stride()) != stride or t.dim() != len(shape):
        return None
    delta = t.storage_offset() - offset
    axes = []
    for axis, (n, st) in enumerate(zip(shape, stride)):
        start, delta = divmod(delta, st) if st else (0, delta)
        if start + t.shape[axis] > n:
            return None
        if start or t.shape[axis] != n:
            axes.append({"axis": axis, "start": int(start), "stop": int(start + t.shape[axis]), "step": 1})
    return {"op": "slice", "axes": axes} if delta == 0 and axes else None
