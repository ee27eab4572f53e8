"""Gemma's token table out of the text_llm graph (docs/model-package.md, "Token table").

Gemma2-2B's table is 256,000 × 2304: 2.4 GB in float32, 590 MB as int8 rows. Inside the graph it
sits in the WASM heap (the runtime copies the graph in) and, as int8, on the CPU provider (WebGPU
has no int8 Gather). A prompt needs at most 256 of its rows, so the table becomes a file beside
the graph that the engine reads row by row (byte ranges), and the graph takes the rows as
``inputs_embeds`` float32 [B, L, D]. Gemma's sqrt(hidden_size) scale stays in the graph, where the
reference applies it (its embedding module multiplies the looked-up rows).

The surgery works on any text_llm graph this exporter wrote, so it applies to a converted
dtype as well as to an already shipped package (relayout):
  Gather(table, input_ids)                                   -> table rows as stored (float32/float16)
  Gather(int8, ids) -> Cast -> Mul(Gather(scale, ids))       -> int8 rows with their scale

Row layout in the file (little-endian), ``row_bytes`` each, row i at i·row_bytes:
  float32: D float32          float16: D float16          int8: one float32 scale, then D int8
A row's values are value·scale for int8 (float32 product, as the graph's Mul computed it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .errors import ExportError
from .onnx_export import drop_initializer, save_model

INPUT = "inputs_embeds"
TABLE_SUFFIX = ".table"  # <dtype>/text_llm.table beside <dtype>/text_llm.onnx
ROW_BYTES = {"float32": lambda d: 4 * d, "float16": lambda d: 2 * d, "int8": lambda d: 4 + d}


def table_path(graph_path: Path) -> Path:
    return Path(graph_path).with_name(Path(graph_path).stem + TABLE_SUFFIX)


def _init_array(model: onnx.ModelProto, name: str, base: Path) -> np.ndarray | None:
    for t in model.graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t, base_dir=str(base))
    return None


def int8_row_bytes(q: np.ndarray, scale: np.ndarray) -> bytes:
    """int8 rows [rows, dim] and their scales [rows, 1] in the file's row layout."""
    rows = np.empty((q.shape[0], 4 + q.shape[1]), np.uint8)
    rows[:, :4] = np.asarray(scale, np.float32).reshape(-1, 1).astype("<f4").view(np.uint8)
    rows[:, 4:] = q.view(np.uint8)
    return rows.tobytes()


def take_token_table(model: onnx.ModelProto, base: Path) -> tuple[onnx.ModelProto, dict, bytes]:
    """Remove the token lookup from a text_llm graph: returns the graph (``inputs_embeds`` in
    place of ``input_ids``), the table's description {format, rows, dim, row_bytes} and the
    file's bytes. ``base`` is the graph's folder (for its external data)."""
    g = model.graph
    ids = "input_ids"
    if ids not in [i.name for i in g.input]:
        raise ExportError("text_llm has no input_ids input (is its token table out already?)")
    users = [n for n in g.node if ids in n.input]

    def consumers(name: str) -> list:
        return [n for n in g.node if name in n.input]

    gathers = [n for n in users if n.op_type == "Gather" and n.input[1] == ids]
    if len(users) != len(gathers) or not 1 <= len(gathers) <= 2:
        raise ExportError(f"text_llm: input_ids feeds {[n.op_type for n in users]}, not a token lookup")
    arrays = {n.name: _init_array(model, n.input[0], base) for n in gathers}
    if any(a is None or a.ndim != 2 for a in arrays.values()):
        raise ExportError("text_llm: the token lookup does not read a constant 2-D table")
    removed = list(gathers)
    if len(gathers) == 1:  # a plain table in the graph's float type
        table = arrays[gathers[0].name]
        if table.dtype not in (np.float32, np.float16):
            raise ExportError(f"text_llm: token table of {table.dtype}")
        fmt = "float32" if table.dtype == np.float32 else "float16"
        embedding, emb_type = gathers[0].output[0], helper.np_dtype_to_tensor_dtype(table.dtype)
        data = np.ascontiguousarray(table).astype("<f4" if fmt == "float32" else "<f2").tobytes()
    else:  # int8 rows: Gather(q) -> Cast -> Mul(., Gather(scale))
        q_node = next(n for n in gathers if arrays[n.name].dtype == np.int8)
        s_node = next(n for n in gathers if n is not q_node)
        cast = consumers(q_node.output[0])
        mul = consumers(cast[0].output[0]) if len(cast) == 1 and cast[0].op_type == "Cast" else []
        if len(mul) != 1 or mul[0].op_type != "Mul" or s_node.output[0] not in mul[0].input:
            raise ExportError("text_llm: int8 token rows without their Cast and scale Mul")
        q, scale = arrays[q_node.name], arrays[s_node.name].astype(np.float32).reshape(-1, 1)
        fmt, embedding = "int8", mul[0].output[0]
        emb_type = helper.np_dtype_to_tensor_dtype(arrays[s_node.name].dtype)
        data, table = int8_row_bytes(q, scale), q
        removed += [cast[0], mul[0]]
    names = {n.name for n in removed}
    kept = [n for n in g.node if n.name not in names]
    rows_n, dim = int(table.shape[0]), int(table.shape[1])
    batch = next(i for i in g.input if i.name == ids).type.tensor_type.shape.dim
    shape = [d.dim_param or d.dim_value for d in batch] + [dim]
    new_input = helper.make_tensor_value_info(INPUT, onnx.TensorProto.FLOAT, shape)
    if emb_type != onnx.TensorProto.FLOAT:  # an fp16 graph computes on from a float16 copy
        kept.insert(0, helper.make_node("Cast", [INPUT], [embedding], name="inputs_embeds_cast", to=emb_type))
    else:
        for n in kept:
            for k, i in enumerate(n.input):
                if i == embedding:
                    n.input[k] = INPUT
    del g.node[:]
    g.node.extend(kept)
    inputs = [new_input if i.name == ids else i for i in g.input]
    del g.input[:]
    g.input.extend(inputs)
    live = {i for n in g.node for i in n.input}
    for n in gathers:
        if n.input[0] not in live:
            drop_initializer(model, n.input[0])
    desc = {"format": fmt, "rows": rows_n, "dim": dim, "row_bytes": ROW_BYTES[fmt](dim)}
    if len(data) != rows_n * desc["row_bytes"]:
        raise ExportError("text_llm: token table size does not match its rows")
    return model, desc, data


def move_token_table(graph_path: Path, chunk_bytes: int) -> dict:
    """Rewrite the text_llm graph at ``graph_path`` without its token table, which goes to
    ``table_path(graph_path)``; returns the table's description."""
    graph_path = Path(graph_path)
    model = onnx.load(str(graph_path), load_external_data=False)
    from onnx.external_data_helper import load_external_data_for_model

    load_external_data_for_model(model, str(graph_path.parent))
    model, desc, data = take_token_table(model, graph_path.parent)
    table_path(graph_path).write_bytes(data)
    save_model(model, graph_path, chunk_bytes=chunk_bytes)
    return desc


def read_rows(table: Path, desc: dict, ids: np.ndarray) -> np.ndarray:
    """The engine's lookup, for the Python runners: rows of ``ids`` [B, L] -> float32 [B, L, D]."""
    dim, row = desc["dim"], desc["row_bytes"]
    out = np.empty((*ids.shape, dim), np.float32)
    with open(table, "rb") as f:
        for index, i in np.ndenumerate(ids):
            f.seek(int(i) * row)
            raw = f.read(row)
            if desc["format"] == "float32":
                out[index] = np.frombuffer(raw, "<f4")
            elif desc["format"] == "float16":
                out[index] = np.frombuffer(raw, "<f2").astype(np.float32)
            else:
                scale = np.frombuffer(raw[:4], "<f4")[0]
                out[index] = np.frombuffer(raw[4:], np.int8).astype(np.float32) * scale
    return out
