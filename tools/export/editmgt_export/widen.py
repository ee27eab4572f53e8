"""A package's text_llm at Gemma-2-2B's full MLP width and token-table size, from a narrow export.

Gemma-2-2B is 2.6 B parameters: 10.5 GB in float32, and its fp32 ONNX export needs well over the
24 GB a development machine has (the 1 B transformer's export peaks at 15 GB). Its weights are
mostly in two places that the graph's structure does not depend on: the MLPs (three 2304 × 9216
matrices per layer, 1.66 B parameters in all) and the token table (256,000 rows, which a package
keeps outside the graph, docs/model-package.md "Token table"). So a full-size package can be made
in two steps that each fit:

1. export and convert a checkpoint that is real in everything else (26 layers, hidden 2304,
   8 × 256 query heads, 4 key/value heads, soft-capping, its norms) with a narrow MLP and the
   tokenizer's rows only;
2. widen the converted graph: each full-width MLP weight is made alone, quantised alone by the
   converter's own quantiser (dtypes.to_q4) and put in place of the narrow one under the same
   name; the table file gets its remaining rows in the converter's int8 row format.

The result is the graph the direct conversion gives: the same nodes, initializer names, shapes,
dtypes and chunk layout, byte for byte when the weights are the same (tests/test_widen.py checks
this on a small model against a checkpoint exported at full width). Only q4 graphs are widened
(the browser's default dtype); the MLP weights of a random package come from ``random_weights``.

Its one use in the product is the templates' (template.build_templates, ``narrow_llm``): a
zero-weight q4 text_llm exported narrow and widened to the config's width, whose structure is the
direct export's (tests/test_narrow_templates.py). A real-width random checkpoint is made directly
(stream_checkpoint.py) and converted through the templates, so no package is widened any more.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .dtypes import int8_rows, to_q4
from .errors import ExportError
from .external_data import CHUNK_BYTES, chunk_paths
from .onnx_export import save_model
from .text_table import int8_row_bytes

PROJECTIONS = ("gate_proj", "up_proj", "down_proj")
# a weight in torch's Linear layout, [out_features, in_features], for (layer, projection)
WeightFn = Callable[[int, str], np.ndarray]


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def mlp_nodes(model: onnx.ModelProto, narrow: int) -> list[dict[str, onnx.NodeProto]]:
    """The MLP's quantised matmuls per layer, in graph order: ``down_proj`` reads ``narrow``
    features from Mul(act(gate_proj(x)), up_proj(x)); ``up_proj`` is the matmul that feeds that Mul
    directly, ``gate_proj`` the other ``narrow``-wide matmul of the same input."""
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    nbits = [n for n in g.node if n.op_type == "MatMulNBits"]
    layers = []
    for down in (n for n in nbits if _attrs(n)["K"] == narrow):
        mul = producer.get(down.input[0])
        if mul is None or mul.op_type != "Mul":
            raise ExportError(f"text_llm: {down.name} does not read an MLP product")
        ups = [producer.get(i) for i in mul.input if producer.get(i) is not None]
        ups = [p for p in ups if p.op_type == "MatMulNBits" and _attrs(p)["N"] == narrow]
        if len(ups) != 1:
            raise ExportError(f"text_llm: no up projection beside {down.name}")
        up = ups[0]
        gates = [n for n in nbits if n is not up and n.input[0] == up.input[0] and _attrs(n)["N"] == narrow]
        if len(gates) != 1:
            raise ExportError(f"text_llm: no gate projection beside {up.name}")
        layers.append({"gate_proj": gates[0], "up_proj": up, "down_proj": down})
    others = [n for n in nbits if not any(n in layer.values() for layer in layers)]
    if any(narrow in (_attrs(n)["K"], _attrs(n)["N"]) for n in others):
        raise ExportError(f"text_llm: the narrow width {narrow} is also a width outside the MLPs; export with another")
    return layers


def quantised_matmul(name: str, weight: np.ndarray) -> tuple[list[onnx.AttributeProto], list[onnx.TensorProto]]:
    """What the converter makes of a MatMul whose weight (MatMul's B, [K, N]) is ``weight`` named
    ``name``: the MatMulNBits attributes and its initializers (packed 4-bit blocks, scales)."""
    k, n = weight.shape
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", name], ["y"], name="matmul")],
        "one_matmul",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["m", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])],
        [numpy_helper.from_array(np.ascontiguousarray(weight, np.float32), name)],
    )
    q = to_q4(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]))
    node = next(x for x in q.graph.node if x.op_type == "MatMulNBits")
    inits = {t.name: t for t in q.graph.initializer}
    return list(node.attribute), [inits[i] for i in node.input[1:] if i]


def widen_mlp(model: onnx.ModelProto, narrow: int, full: int, weight: WeightFn, layers: int) -> onnx.ModelProto:
    """Give every MLP of a q4 text_llm graph exported with intermediate width ``narrow`` the width
    ``full``, with the weights ``weight(layer, projection)``; in place, and returned. ``layers``:
    the MLPs the graph has (the model's layers less one: text_llm stops at the second-to-last)."""
    found = mlp_nodes(model, narrow)
    if len(found) != layers:
        raise ExportError(f"text_llm: found {len(found)} MLPs of width {narrow}, expected {layers}")
    inits = {t.name: t for t in model.graph.initializer}
    for index, layer in enumerate(found):
        for proj in PROJECTIONS:
            node = layer[proj]
            w = np.asarray(weight(index, proj), np.float32)
            k_expected = full if proj == "down_proj" else _attrs(node)["K"]
            n_expected = _attrs(node)["N"] if proj == "down_proj" else full
            if w.shape != (n_expected, k_expected):
                raise ExportError(f"layer {index} {proj}: weight {w.shape}, expected {(n_expected, k_expected)}")
            base = node.input[1].removesuffix("_Q4")
            attributes, tensors = quantised_matmul(base, w.T)
            if [t.name for t in tensors] != [i for i in node.input[1:] if i]:
                raise ExportError(
                    f"{node.name}: quantised inputs {[t.name for t in tensors]} != {list(node.input[1:])}"
                )
            del node.attribute[:]
            node.attribute.extend(attributes)
            for t in tensors:
                inits[t.name].CopyFrom(t)
    for vi in model.graph.value_info:  # the MLP activations' recorded shapes
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_value") and d.dim_value == narrow:
                d.dim_value = full
    return model


def random_weights(seed: int, hidden: int, full: int) -> WeightFn:
    """MLP weights drawn like tiny.randomize draws a Linear's (N(0, 1/fan_in)), one generator per
    (layer, projection) so each is made alone."""

    def weight(layer: int, proj: str) -> np.ndarray:
        rng = np.random.Generator(np.random.PCG64([seed, layer, PROJECTIONS.index(proj)]))
        shape = (hidden, full) if proj == "down_proj" else (full, hidden)
        return rng.standard_normal(shape, dtype=np.float32) / np.float32(np.sqrt(shape[1]))

    return weight


def widen_token_table(table: Path, desc: dict, rows: int, seed: int | None, chunk_rows: int = 8192) -> dict:
    """Append rows to an int8 token table file until it has ``rows`` (N(0, 1) values, as
    tiny.randomize draws an embedding, in the converter's int8 row format; zeros where ``seed``
    is None); the rows already there (the tokenizer's) are kept. Returns the table's new
    description."""
    if desc["format"] != "int8":
        raise ExportError(f"only int8 token tables are widened, not {desc['format']}")
    if rows < desc["rows"]:
        raise ExportError(f"the table already has {desc['rows']} rows, more than {rows}")
    if Path(table).stat().st_size != desc["rows"] * desc["row_bytes"]:
        raise ExportError(f"{table} does not hold {desc['rows']} rows of {desc['row_bytes']} bytes")
    rng = None if seed is None else np.random.Generator(np.random.PCG64([seed, rows]))
    with open(table, "ab") as f:
        for start in range(desc["rows"], rows, chunk_rows):
            shape = (min(chunk_rows, rows - start), desc["dim"])
            values = np.zeros(shape, np.float32) if rng is None else rng.standard_normal(shape, dtype=np.float32)
            f.write(int8_row_bytes(*int8_rows(values)))
    return {**desc, "rows": rows}


def widen_text_llm(
    package: Path,
    dtype: str,
    narrow: int,
    full: int,
    layers: int,
    weight: WeightFn,
    table_rows: int | None = None,
    seed: int | None = 0,
    chunk_bytes: int = CHUNK_BYTES,
) -> dict:
    """Widen ``dtype``'s text_llm in ``package`` (MLPs to ``full``, the token table to
    ``table_rows``) and bring its manifest up to date (chunk list, table rows, file sizes and
    digests, largest buffer). Returns the new manifest."""
    from onnx.external_data_helper import load_external_data_for_model

    from .buffers import dtype_max_buffer, manifest_max_buffer
    from .package import read_manifest, sha256, validate_manifest

    package = Path(package)
    manifest = read_manifest(package)
    entry = manifest["dtypes"][dtype]
    graph_entry = entry["graphs"]["text_llm"]
    if graph_entry.get("dtype", dtype) != "q4":
        raise ExportError(f"only q4 text_llm graphs are widened, not {graph_entry.get('dtype', dtype)}")
    graph = package / graph_entry["file"]
    model = onnx.load(str(graph), load_external_data=False)
    load_external_data_for_model(model, str(graph.parent))
    widen_mlp(model, narrow, full, weight, layers)
    if table_rows is not None:  # the table's shape, recorded where the graph gathered from it
        table = graph_entry["token_table"]
        for vi in model.graph.value_info:
            dims = vi.type.tensor_type.shape.dim
            if [d.dim_value for d in dims] == [table["rows"], table["dim"]]:
                dims[0].dim_value = table_rows
    save_model(model, graph, chunk_bytes=chunk_bytes)
    del model
    graph_entry["external_data"] = [f"{dtype}/{p.name}" for p in chunk_paths(graph)]
    if table_rows is not None:
        table = graph_entry["token_table"]
        desc = {k: v for k, v in table.items() if k != "file"}
        table.update(widen_token_table(package / table["file"], desc, table_rows, seed))
    prefix = f"{dtype}/text_llm."
    files = [f for f in manifest["files"] if not f["path"].startswith(prefix)]
    for p in sorted(graph.parent.glob("text_llm.*")):
        rel = p.relative_to(package).as_posix()
        files.append({"path": rel, "bytes": p.stat().st_size, "sha256": sha256(p)})
    manifest["files"] = sorted(files, key=lambda f: f["path"])
    entry["max_buffer_bytes"] = dtype_max_buffer(package, entry)
    manifest["config"]["max_buffer_bytes"] = manifest_max_buffer(package, manifest["dtypes"])
    validate_manifest(manifest)
    tmp = package / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(tmp, package / "manifest.json")
    return manifest
