"""Graph templates and weight maps (docs/model-package.md, "Templates and weight maps").

A package's graph is its structure plus its weights. The structure comes from the model config
and the conversion options alone (onnx_export.optimize_hiding_weights keeps weight values out of
every optimiser decision), so one export of a random checkpoint of a config gives, for each
dtype and graph:

* ``<dtype>/<graph>.onnx``: the template, the package's ``.onnx`` with every byte that comes
  from a weight set to zero (inline tensors keep their place; the rest is external data);
* ``<dtype>/<graph>.weights.json``: the weight map (``weightmap.schema.json``): for every
  initializer, its checkpoint sources, transforms and stored encoding, or its bytes in
* ``<dtype>/<graph>.constants``: initializers that the config determines (rope tables, masks)
  and that the package keeps in its external-data chunks.

weightmap.py applies the maps to a checkpoint and writes the package's graph files.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import onnx

from .errors import ExportError
from .external_data import _tensors

MAP_FORMAT = "editmgt-weightmap"
MAP_VERSION = 1
MAP_SUFFIX = ".weights.json"
CONSTANTS_SUFFIX = ".constants"
FP16_COMPUTE = {"fp16", "q4f16"}
BLOCK_SIZE = 32
# converter suffixes: (suffix, encoding without its input precision), longest first
DERIVED = (
    ("_int8_scale", {"type": "int8_rows", "part": "scales"}),
    ("_int8", {"type": "int8_rows", "part": "values"}),
    ("_Q4", {"type": "q4", "part": "blocks", "block_size": BLOCK_SIZE}),
    ("_scales", {"type": "q4", "part": "scales", "block_size": BLOCK_SIZE}),
    ("_quantized", {"type": "q8", "part": "values"}),
    ("_zero_point", {"type": "q8", "part": "zero_point"}),
    ("_scale", {"type": "q8", "part": "scale"}),
)
ELEMENT = {
    onnx.TensorProto.FLOAT: "float32",
    onnx.TensorProto.FLOAT16: "float16",
    onnx.TensorProto.INT8: "int8",
    onnx.TensorProto.UINT8: "uint8",
}


def transposed_gemm_weights(fp32_model: onnx.ModelProto) -> set[str]:
    """Weights that dtypes.gemm_to_matmul transposes (a Gemm's B with transB=1)."""
    out = set()
    for n in fp32_model.graph.node:
        if n.op_type == "Gemm" and len(n.input) > 1:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            if attrs.get("transB", 0):
                out.add(n.input[1])
    return out


def _copy(p: dict, extra: list | None = None) -> dict:
    return {"sources": [dict(s) for s in p["sources"]], "transforms": [*p["transforms"], *(extra or [])]}


def _base(name: str, provenance: dict, transposed: set[str]) -> dict | None:
    """Provenance of a float weight of the graph, through gemm_to_matmul's renaming."""
    if name in provenance:
        return _copy(provenance[name])
    if name.endswith("_matmul") and name[: -len("_matmul")] in provenance:
        w = name[: -len("_matmul")]
        return _copy(provenance[w], [{"op": "transpose", "perm": [1, 0]}] if w in transposed else [])
    return None


def derive(name: str, tensor: onnx.TensorProto, provenance: dict, transposed: set[str], compute: str) -> dict | None:
    """The weight-map entry body (sources, transforms, encoding) of one initializer of a
    converted graph, or None for a constant of the config."""
    source = "float16" if compute in FP16_COMPUTE else "float32"
    base = _base(name, provenance, transposed)
    if base is not None:
        kind = ELEMENT.get(tensor.data_type)
        if kind not in ("float32", "float16"):
            raise ExportError(f"{name}: a checkpoint weight stored as {kind or tensor.data_type}")
        return {**base, "encoding": {"type": kind}}
    for suffix, encoding in DERIVED:
        if name.endswith(suffix):
            base = _base(name[: -len(suffix)], provenance, transposed)
            if base is not None:
                enc = {**encoding, "input": source}
                if encoding["type"] in ("q4", "int8_rows"):  # scales in the graph's float type
                    enc["scale_type"] = source
                    if encoding["part"] == "scales" and ELEMENT.get(tensor.data_type) != source:
                        raise ExportError(f"{name}: {ELEMENT.get(tensor.data_type)} scales in a {compute} graph")
                return {**base, "encoding": enc}
    return None


def _varint(buf: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, at


def _fields(buf: bytes, start: int, end: int):
    """(field number, wire type, value start, value end) of each protobuf field in buf[start:end]."""
    at = start
    while at < end:
        key, at = _varint(buf, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, nxt = _varint(buf, at)
            yield number, wire, at, nxt
        elif wire == 1:
            nxt = at + 8
            yield number, wire, at, nxt
        elif wire == 2:
            length, at = _varint(buf, at)
            nxt = at + length
            yield number, wire, at, nxt
        elif wire == 5:
            nxt = at + 4
            yield number, wire, at, nxt
        else:
            raise ExportError(f"unexpected protobuf wire type {wire}")
        at = nxt


MODEL_GRAPH, GRAPH_INITIALIZER, TENSOR_NAME, TENSOR_RAW_DATA = 7, 5, 8, 9


def inline_offsets(blob: bytes) -> dict[str, tuple[int, int]]:
    """(offset, length) in a serialised model of each main-graph initializer's raw data, read
    from the protobuf wire format. A bytes field is laid out by its length only, so the places
    hold for any values of the same dtype and shape."""
    out = {}
    for number, _, g0, g1 in _fields(blob, 0, len(blob)):
        if number != MODEL_GRAPH:
            continue
        for field, _, t0, t1 in _fields(blob, g0, g1):
            if field != GRAPH_INITIALIZER:
                continue
            name, raw = None, None
            for f, _, v0, v1 in _fields(blob, t0, t1):
                if f == TENSOR_NAME:
                    name = blob[v0:v1].decode()
                elif f == TENSOR_RAW_DATA:
                    raw = (v0, v1 - v0)
            if name is not None and raw is not None:
                out[name] = raw
    return out


def graph_template(
    graph_path: Path,
    graph: str,
    dtype: str,
    compute: str,
    provenance: dict,
    transposed: set[str],
    token_table: dict | None,
    out: Path,
) -> dict:
    """Write the template, weight map and constants of one package graph into ``out`` (the
    dtype's folder); returns the map."""
    graph_path = Path(graph_path)
    model = onnx.load(str(graph_path), load_external_data=False)
    if model.SerializeToString() != graph_path.read_bytes():
        raise ExportError(f"{graph_path}: the graph file does not serialise back to its own bytes")
    entries, inline, constants = [], [], bytearray()
    found = set()
    for t in _tensors(model):
        body = derive(t.name, t, provenance, transposed, compute)
        entry = {"name": t.name, "shape": [int(d) for d in t.dims], "element": ELEMENT.get(t.data_type)}
        external = t.data_location == onnx.TensorProto.EXTERNAL
        if body is None and not external:
            continue  # a constant of the config, inside the template
        if body is not None:
            entry.update(body)
            found.update(s["tensor"] for s in body["sources"])
        if external:
            ext = {e.key: e.value for e in t.external_data}
            entry["place"] = {"file": ext["location"], "offset": int(ext["offset"]), "length": int(ext["length"])}
            if body is None:
                with open(graph_path.with_name(ext["location"]), "rb") as f:
                    f.seek(int(ext["offset"]))
                    data = f.read(int(ext["length"]))
                entry["constant"] = {"offset": len(constants), "length": len(data)}
                constants += data
        else:
            inline.append(t.name)
            entry["place"] = {"file": graph_path.name, "offset": None, "length": len(t.raw_data)}
        entries.append(entry)
    if inline:
        for t in model.graph.initializer:
            if t.name in inline:
                if not t.HasField("raw_data") or not t.raw_data:
                    raise ExportError(f"{t.name}: an inline weight without raw data; the template cannot place it")
                t.raw_data = bytes(len(t.raw_data))
        offsets = inline_offsets(model.SerializeToString())
        for e in entries:
            if e["name"] in inline:
                if e["name"] not in offsets or offsets[e["name"]][1] != e["place"]["length"]:
                    raise ExportError(f"{e['name']}: an inline weight outside the main graph")
                e["place"]["offset"] = offsets[e["name"]][0]
    files = []
    for e in entries:
        if e["place"]["file"] != graph_path.name and e["place"]["file"] not in [f["file"] for f in files]:
            size = graph_path.with_name(e["place"]["file"]).stat().st_size
            files.append({"file": e["place"]["file"], "bytes": size})
    if token_table is not None:
        table = [n for n, p in provenance.items() if not any(s["tensor"] in found for s in p["sources"])]
        if len(table) != 1:
            raise ExportError(f"{dtype}/{graph}: cannot tell the token table's weight among {table}")
        fmt = token_table["format"]
        length = token_table["rows"] * token_table["row_bytes"]
        entries.append(
            {
                "name": table[0],
                "shape": [token_table["rows"], token_table["dim"]],
                "element": fmt,
                **_copy(provenance[table[0]]),
                "encoding": {
                    "type": "token_rows",
                    "format": fmt,
                    "input": "float16" if compute in FP16_COMPUTE else "float32",
                    **({"scale_type": "float16" if compute in FP16_COMPUTE else "float32"} if fmt == "int8" else {}),
                },
                "place": {"file": token_table["file"], "offset": 0, "length": length},
            }
        )
        files.append({"file": token_table["file"], "bytes": length})
    out.mkdir(parents=True, exist_ok=True)
    template = out / graph_path.name
    template.write_bytes(model.SerializeToString())
    if constants:
        (out / f"{graph}{CONSTANTS_SUFFIX}").write_bytes(bytes(constants))
    weight_map = {
        "format": MAP_FORMAT,
        "version": MAP_VERSION,
        "graph": graph,
        "dtype": dtype,
        "compute_dtype": compute,
        "template": template.name,
        "constants": f"{graph}{CONSTANTS_SUFFIX}" if constants else None,
        "files": files,
        "entries": entries,
    }
    (out / f"{graph}{MAP_SUFFIX}").write_text(json.dumps(weight_map, indent=1) + "\n")
    return weight_map


NARROW_LLM = (96, 512)  # (MLP width, token rows) of the narrow Gemma export; 96 is no other width of the graph
NARROW_ABOVE_BYTES = 2 << 30


def narrow_llm_plan(source: Path, dtypes, narrow_llm) -> tuple[int, int] | None:
    """(MLP width, token rows) to export Gemma with before widening it, or None for a direct export."""
    if narrow_llm is None:
        return None
    cfg = json.loads((Path(source) / "llm_encoder" / "config.json").read_text())
    if narrow_llm == "auto":
        big = 3 * cfg["num_hidden_layers"] * cfg["hidden_size"] * cfg["intermediate_size"]
        if 4 * (big + cfg["vocab_size"] * cfg["hidden_size"]) <= NARROW_ABOVE_BYTES or set(dtypes) != {"q4"}:
            return None
        narrow_llm = NARROW_LLM
    width, rows = narrow_llm
    if set(dtypes) != {"q4"}:
        raise ExportError(f"a narrow Gemma export is widened in q4 graphs only, not {','.join(dtypes)}")
    if not (width < cfg["intermediate_size"] and rows <= cfg["vocab_size"]):
        raise ExportError(
            f"narrow Gemma export ({width} wide, {rows} rows) must be narrower than "
            f"{source}/llm_encoder/config.json ({cfg['intermediate_size']}, {cfg['vocab_size']})"
        )
    return width, rows


def write_templates(package: Path, provenance: dict[str, dict], out: Path) -> list[Path]:
    """Templates, weight maps and constants of every graph of every dtype of ``package`` (built
    with write_package(..., provenance_out=provenance), fp32 among its dtypes) into ``out``."""
    from .package import read_manifest

    package, out = Path(package), Path(out)
    manifest = read_manifest(package)
    if "fp32" not in manifest["dtypes"]:
        raise ExportError("templates are made from a package with fp32 among its dtypes")
    written = []
    for dtype, entry in manifest["dtypes"].items():
        for graph, g in entry["graphs"].items():
            fp32 = onnx.load(str(package / "fp32" / f"{graph}.onnx"), load_external_data=False)
            table = None
            if "token_table" in g:
                table = {**g["token_table"], "file": Path(g["token_table"]["file"]).name}
            graph_template(
                package / g["file"],
                graph,
                dtype,
                g.get("dtype", dtype),
                provenance[graph],
                transposed_gemm_weights(fp32),
                table,
                out / dtype,
            )
            written.append(out / dtype / f"{graph}.onnx")
    (out / "manifest.json").write_text((package / "manifest.json").read_text())
    return written


def build_templates(
    source: Path,
    dtypes,
    out: Path,
    resolution: int | None = None,
    chunk_bytes: int | None = None,
    attention_blocks=None,
    graph_dtypes: dict | None = None,
    text_len: int | None = None,
    log=print,
    package_out: Path | None = None,
    narrow_llm: tuple[int, int] | str | None = "auto",
) -> list[Path]:
    """Templates for the config of the checkpoint at ``source`` and these conversion options,
    into ``out``. No tensor data is read: the models are built from the configs, checked against
    the tensors' names and shapes, with zeros for weights (checkpoint.load_checkpoint(...,
    weights=False)), and the codebook colours are not decoded, so the manifest carries no
    value of the checkpoint's (its ``files`` hash the zero-weight files; ``codebook_colors`` are
    zeros, which a converter replaces). ``package_out`` keeps the zero-weight package the
    templates were cut from.

    ``narrow_llm`` ((MLP width, token rows), "auto" or None): Gemma is exported with that MLP
    width and table and its q4 graph widened to the config's (widen.py: the graph the direct
    export gives), so the export holds its attention weights only; "auto" does so where its MLPs
    and table would exceed NARROW_ABOVE_BYTES in float32 and only q4 is asked for."""
    import shutil
    import tempfile

    from .checkpoint import load_checkpoint
    from .external_data import CHUNK_BYTES
    from .package import LLM_LEN, write_package

    narrow = narrow_llm_plan(Path(source), dtypes, narrow_llm)
    overrides = None if narrow is None else {"intermediate_size": narrow[0], "vocab_size": narrow[1]}
    ckpt = load_checkpoint(Path(source), weights=False, llm_overrides=overrides)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.work-", dir=out.parent))
    try:
        provenance: dict = {}
        package = work / "package"
        write_package(
            ckpt,
            package,
            ["fp32", *[d for d in dtypes if d != "fp32"]],
            name="template",
            source=str(source),
            resolution=resolution,
            attention_blocks=attention_blocks,
            log=log,
            dated=False,
            chunk_bytes=chunk_bytes or CHUNK_BYTES,
            graph_dtypes=graph_dtypes,
            text_len=text_len or LLM_LEN,
            provenance_out=provenance,
            colors=False,
        )
        if narrow is not None:
            from .widen import widen_text_llm

            cfg = json.loads((Path(source) / "llm_encoder" / "config.json").read_text())
            t0 = time.time()
            widen_text_llm(
                package,
                "q4",
                narrow[0],
                cfg["intermediate_size"],
                cfg["num_hidden_layers"] - 1,  # text_llm stops at the second-to-last layer
                lambda _layer, proj: np.zeros(
                    (cfg["hidden_size"], cfg["intermediate_size"])
                    if proj == "down_proj"
                    else (cfg["intermediate_size"], cfg["hidden_size"]),
                    np.float32,
                ),
                table_rows=cfg["vocab_size"],
                seed=None,
                chunk_bytes=chunk_bytes or CHUNK_BYTES,
            )
            log(f"widened q4 text_llm to MLP width {cfg['intermediate_size']} in {time.time() - t0:.1f}s")
        unmapped = provenance.pop("unmapped", {})
        if unmapped:
            graph, names = next(iter(unmapped.items()))
            raise ExportError(
                f"{graph}: {len(names)} parameters are neither checkpoint tensors nor slices of them "
                f"(e.g. {names[0]}); a template cannot map them"
            )
        staged = work / "templates"
        written = write_templates(package, provenance, staged)
        manifest = json.loads((staged / "manifest.json").read_text())
        for d in list(manifest["dtypes"]):
            if d not in dtypes:  # fp32, exported for the provenance only
                shutil.rmtree(staged / d)
                del manifest["dtypes"][d]
                manifest["files"] = [f for f in manifest["files"] if not f["path"].startswith(f"{d}/")]
        # the largest buffer over the dtypes kept, as the exporter's package of these dtypes records it
        manifest["config"]["max_buffer_bytes"] = max(e["max_buffer_bytes"] for e in manifest["dtypes"].values())
        (staged / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        if out.exists():
            shutil.rmtree(out)
        staged.rename(out)
        if package_out is not None:
            if Path(package_out).exists():
                shutil.rmtree(package_out)
            package.rename(package_out)
        return [out / p.relative_to(staged) for p in written if p.parent.name in dtypes]
    finally:
        shutil.rmtree(work, ignore_errors=True)
