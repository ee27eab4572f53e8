"""fp32 graphs -> fp16 / q4 / q4f16 / q8 graphs.

* fp16: weights and activations in float16, float32 inputs/outputs; norms' variance math and
  the sampling tail (softmax over the codebook, cumulative sum, draw) stay float32.
* q4: MatMulNBits (4-bit, block 32, symmetric), float32 activations (WebGPU, WASM); constant-weight
  Gemms are first rewritten as MatMul + Add so they are quantised too.
* q4f16: the fp16 graph with MatMulNBits 4-bit weights (WebGPU).
* q8: int8 weights with dynamic activation quantisation (MatMulInteger; for WASM).
In q4/q4f16/q8 the text encoders' token embedding tables are int8 rows with per-row scales.
VQ graphs are not weight-quantised (see UNQUANTISED).
"""

from __future__ import annotations

import functools
import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from .external_data import CHUNK_BYTES
from .onnx_export import drop_initializer, save_model

DTYPES = ("fp32", "fp16", "q4", "q4f16", "q8")
BLOCK_SIZE = 32
# float32 islands inside fp16 graphs: RMSNorm's x², mean, sqrt (overflow in fp16) and CumSum
FP32_OPS = ["Pow", "ReduceMean", "Sqrt", "Reciprocal", "CumSum", "ArgMin", "ArgMax"]


def _sampling_tail(model: onnx.ModelProto) -> list[str]:
    """Nodes after the codebook projection (the last weight MatMul; the CFG mix comes before it): softmax,
    cumulative sum, draw, the probabilities of the drawn and reference ids, and the attention
    map. They stay float32: float16 holds integers exactly only up to 2048 (token ids go to 8191)
    and has three digits for the uniforms and the cumulative sum."""
    inits = {t.name for t in model.graph.initializer}
    nodes = list(model.graph.node)
    last = max(
        (k for k, n in enumerate(nodes) if n.op_type == "MatMul" and any(i in inits for i in n.input)), default=None
    )
    return [] if last is None else [n.name for n in nodes[last + 1 :]]


def to_fp16(model: onnx.ModelProto, graph: str) -> onnx.ModelProto:
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    nodes = _sampling_tail(model) if graph == "transformer_step" else []
    add_inferred_shapes(model)
    logging.getLogger("onnxruntime.transformers.float16").setLevel(logging.ERROR)
    converted = convert_float_to_float16(
        model,
        keep_io_types=True,
        op_block_list=DEFAULT_OP_BLOCK_LIST + FP32_OPS,
        node_block_list=nodes,
        disable_shape_infer=True,
    )
    _toposort(converted)  # the converter appends its casts at the end; inference needs order
    add_inferred_shapes(converted)  # and it renames values: type them again
    return _fuse_cast_pairs(converted, _float_tensors(converted))


def _toposort(model: onnx.ModelProto) -> None:
    """Reorder nodes so each comes after the producers of its inputs (stable otherwise)."""
    nodes = list(model.graph.node)
    producer = {o: k for k, n in enumerate(nodes) for o in n.output if o}
    deps = [{producer[i] for i in n.input if i in producer} for n in nodes]
    users: dict[int, list[int]] = {}
    for k, d in enumerate(deps):
        for j in d:
            users.setdefault(j, []).append(k)
    waiting = [len(d) for d in deps]
    ready = [k for k, w in enumerate(waiting) if w == 0]
    order = []
    import heapq

    heapq.heapify(ready)
    while ready:
        k = heapq.heappop(ready)
        order.append(k)
        for u in users.get(k, []):
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != len(nodes):
        raise ValueError("graph has a cycle")
    del model.graph.node[:]
    model.graph.node.extend(nodes[k] for k in order)


def add_inferred_shapes(model: onnx.ModelProto) -> None:
    """Fill ``model.graph.value_info`` by shape inference on a weightless copy (onnx's inference
    serialises the model, which fails over 2 GB; it needs only the weights' dims and types)."""
    light = onnx.ModelProto()
    light.ir_version = model.ir_version
    light.opset_import.extend(model.opset_import)
    light.graph.node.extend(model.graph.node)
    light.graph.input.extend(model.graph.input)
    light.graph.output.extend(model.graph.output)
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL or len(t.raw_data) > 4096:
            stub = light.graph.initializer.add()
            stub.name, stub.data_type = t.name, t.data_type
            stub.dims.extend(t.dims)
        else:
            light.graph.initializer.append(t)
    inferred = onnx.shape_inference.infer_shapes(light)
    del model.graph.value_info[:]
    model.graph.value_info.extend(inferred.graph.value_info)


def _float_tensors(model: onnx.ModelProto) -> set[str]:
    """Names of float32 tensors (needs value_info from add_inferred_shapes)."""
    vals = list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)
    names = {v.name for v in vals if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    return names | {t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT}


def gemm_to_matmul(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite Gemm(A, W, C) with a constant W as MatMul(A, W') + C, so weight-only quantisers
    (which take MatMul only) also cover the modulation and embedding linears of the transformer
    (a quarter of its weights)."""
    inits = {t.name: t for t in model.graph.initializer}
    uses = {}
    for n in model.graph.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    nodes = []
    for n in model.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        w = inits.get(n.input[1]) if n.op_type == "Gemm" and len(n.input) > 1 else None
        if (
            w is None
            or len(w.dims) != 2
            or w.data_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
            or attrs.get("transA", 0)
            or attrs.get("alpha", 1.0) != 1.0
            or attrs.get("beta", 1.0) != 1.0
        ):
            nodes.append(n)
            continue
        array = numpy_helper.to_array(w)
        if attrs.get("transB", 0):
            array = np.ascontiguousarray(array.T)
        name = f"{w.name}_matmul"  # a new name: value_info may still describe the old layout
        uses[w.name] -= 1
        if uses[w.name] == 0:
            drop_initializer(model, w.name)
        model.graph.initializer.append(numpy_helper.from_array(array, name))
        has_bias = len(n.input) > 2 and n.input[2]
        product = f"{n.output[0]}_matmul" if has_bias else n.output[0]
        nodes.append(onnx.helper.make_node("MatMul", [n.input[0], name], [product], name=f"{n.name}_matmul"))
        if has_bias:
            nodes.append(onnx.helper.make_node("Add", [product, n.input[2]], [n.output[0]], name=f"{n.name}_bias"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def _fuse_cast_pairs(model: onnx.ModelProto, float_names: set[str]) -> onnx.ModelProto:
    """The fp16 converter wraps each float32 node in its own casts, so a chain of float32 nodes
    round-trips through float16 between them (x² overflows there). Rewire Cast(fp16)->Cast(fp32)
    pairs so the float32 value flows straight through."""
    F16, F32 = onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT
    producer = {o: n for n in model.graph.node for o in n.output}

    def cast_to(n):
        return next((a.i for a in n.attribute if a.name == "to"), None) if n.op_type == "Cast" else None

    rename = {}
    outputs = {o.name for o in model.graph.output}
    for n in model.graph.node:
        if cast_to(n) == F32:
            src = producer.get(n.input[0])
            if src is not None and cast_to(src) == F16 and src.input[0] in float_names:
                if n.output[0] in outputs:  # a graph output keeps its cast, now float32 -> float32
                    n.input[0] = src.input[0]
                else:
                    rename[n.output[0]] = src.input[0]
    if rename or outputs:
        for n in model.graph.node:
            for k, i in enumerate(n.input):
                if i in rename and rename[i] not in outputs:
                    n.input[k] = rename[i]
        while True:  # drop casts nobody reads (a dropped cast may orphan the one before it)
            live = {i for n in model.graph.node for i in n.input} | outputs
            keep = [n for n in model.graph.node if n.op_type != "Cast" or any(o in live for o in n.output)]
            if len(keep) == len(model.graph.node):
                break
            del model.graph.node[:]
            model.graph.node.extend(keep)
    return model


def to_q4(model: onnx.ModelProto) -> onnx.ModelProto:
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger().setLevel(logging.ERROR)
    q = MatMulNBitsQuantizer(gemm_to_matmul(model), bits=4, block_size=BLOCK_SIZE, is_symmetric=True)
    q.process()
    return q.model.model


def to_q8(src: Path, dst: Path, chunk_bytes: int = CHUNK_BYTES) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # the quantiser logs through the root logger
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        matmuls = Path(tmp) / src.name
        save_model(gemm_to_matmul(onnx.load(str(src))), matmuls)
        # the quantiser writes its own external data (one file of any size) into a scratch name
        scratch = Path(tmp) / f"q8_{src.name}"
        quantize_dynamic(
            str(matmuls),
            str(scratch),
            op_types_to_quantize=["MatMul"],
            weight_type=QuantType.QInt8,
            per_channel=False,
            use_external_data_format=True,
        )
        save_model(onnx.load(str(scratch)), dst, chunk_bytes=chunk_bytes)


def int8_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A float32 table [rows, dim] as int8 rows with one scale per row ([rows, 1], the row's
    largest magnitude / 127; 1 for an all-zero row): values ~ q * scale."""
    scale = np.abs(values).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    return np.clip(np.rint(values / scale), -127, 127).astype(np.int8), scale


def quantize_embedding_tables(model: onnx.ModelProto) -> onnx.ModelProto:
    """Token embedding tables (a constant 2-D table read by Gather) as int8 rows with one scale
    per row: Gather(int8) -> Cast -> Mul(Gather(scales)). Gemma2's 256000 x 2304 table is 2.4 GB
    in float32, more than the rest of the quantised text encoder; int8 makes it a quarter.
    Only standard ops, so every execution provider runs it."""
    inits = {t.name: t for t in model.graph.initializer}
    nodes = []
    for n in model.graph.node:
        table = inits.get(n.input[0]) if n.op_type == "Gather" else None
        axis = next((a.i for a in n.attribute if a.name == "axis"), 0)
        if (
            table is None
            or len(table.dims) != 2
            or axis != 0
            or n.input[1] in inits
            or table.data_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
        ):
            nodes.append(n)
            continue
        q, scale = int8_rows(numpy_helper.to_array(table).astype(np.float32))
        float_type = table.data_type
        out_type = np.float16 if float_type == onnx.TensorProto.FLOAT16 else np.float32
        base = f"{table.name}_int8"
        drop_initializer(model, table.name)
        model.graph.initializer.extend(
            [numpy_helper.from_array(q, base), numpy_helper.from_array(scale.astype(out_type), f"{base}_scale")]
        )
        ids, out = n.input[1], n.output[0]
        nodes += [
            onnx.helper.make_node("Gather", [base, ids], [f"{out}_q"], name=f"{n.name}_q", axis=0),
            onnx.helper.make_node("Cast", [f"{out}_q"], [f"{out}_f"], name=f"{n.name}_cast", to=float_type),
            onnx.helper.make_node("Gather", [f"{base}_scale", ids], [f"{out}_s"], name=f"{n.name}_scale", axis=0),
            onnx.helper.make_node("Mul", [f"{out}_f", f"{out}_s"], [out], name=f"{n.name}_dequant"),
        ]
        del q
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


# text graphs whose token embedding is stored as int8 rows in the quantised dtypes (the
# transformer's table is small, and its graph stays free of int8 gathers for WebGPU)
INT8_EMBEDDINGS = {"text_clip", "text_llm"}

# The VQ graphs are convolutions plus a nearest-codebook search; weight-only quantisation would
# only touch the codebook matmul (and break the search), so q4/q8 packages carry them unquantised.
UNQUANTISED = {
    "vq_encode": {"q4": "fp32", "q8": "fp32", "q4f16": "fp16"},
    "vq_decode": {"q4": "fp32", "q8": "fp32", "q4f16": "fp16"},
}


def graph_dtype(graph: str, dtype: str, overrides: dict[str, str] | None = None) -> str:
    """The compute dtype of ``graph`` in a package's ``dtype`` entry: an override asked for
    (e.g. text_llm=fp32 in q4f16), else the VQ graphs' unquantised one, else ``dtype`` itself."""
    if overrides and graph in overrides:
        return overrides[graph]
    return UNQUANTISED.get(graph, {}).get(dtype, dtype)


def convert_graph(fp32_path: Path, dtype: str, dst: Path, graph: str, chunk_bytes: int = CHUNK_BYTES) -> Path:
    """Write ``dst`` (weights in external-data chunks beside it) in compute dtype ``dtype`` (see
    graph_dtype) from the fp32 graph at ``fp32_path``."""
    save = functools.partial(save_model, path=dst, chunk_bytes=chunk_bytes)
    if dtype == "fp32":
        save(onnx.load(str(fp32_path)))
    elif dtype == "fp16":
        save(to_fp16(onnx.load(str(fp32_path)), graph))
    elif dtype == "q4":
        save(to_q4(onnx.load(str(fp32_path))))
    elif dtype == "q4f16":
        save(to_q4(to_fp16(onnx.load(str(fp32_path)), graph)))
    elif dtype == "q8":
        to_q8(fp32_path, dst, chunk_bytes)
    else:
        raise ValueError(dtype)
    if dtype in ("q4", "q4f16", "q8") and graph in INT8_EMBEDDINGS:
        save(quantize_embedding_tables(onnx.load(str(dst))))
    return dst
