"""Rewrite an existing package's graphs into the current layout: every graph's weights in
external-data chunks beside it (external_data.py), the manifest's files and ``external_data``
lists updated, Gemma's token table moved out of each text_llm graph into a file the engine reads by
rows (text_table.py), ``config.max_buffer_bytes`` recomputed (buffers.py), and validated. The graphs' maths is unchanged (same nodes, same weight bytes), so a
package whose checkpoint is not at hand can move to the layout without converting again.

    python -m editmgt_export relayout <package folder> [--chunk-bytes N]
"""

from __future__ import annotations

import json
from pathlib import Path

import onnx

from .buffers import dtype_max_buffer, manifest_max_buffer
from .external_data import CHUNK_BYTES, chunk_paths
from .onnx_export import save_model
from .package import _io, sha256, validate_manifest
from .text_table import move_token_table, table_path


def relayout_package(package: Path, chunk_bytes: int = CHUNK_BYTES) -> dict:
    package = Path(package)
    manifest = json.loads((package / "manifest.json").read_text())
    done: dict[str, list[str]] = {}  # graph file -> its chunk paths (dtypes may share a file)
    tables: dict[str, dict] = {}  # text_llm file -> its token table entry
    for entry in manifest["dtypes"].values():
        for name, g in entry["graphs"].items():
            path = package / g["file"]
            if name == "text_llm" and g["file"] not in tables:
                if "token_table" not in g:  # the lookup still in the graph: move it out
                    desc = move_token_table(path, chunk_bytes)
                    g["token_table"] = {"file": f"{Path(g['file']).parent.as_posix()}/{table_path(path).name}", **desc}
                tables[g["file"]] = g["token_table"]
            if name == "text_llm":
                g["token_table"] = tables[g["file"]]
            if g["file"] not in done:
                save_model(onnx.load(str(path)), path, chunk_bytes=chunk_bytes)  # loads old external data first
                folder = Path(g["file"]).parent.as_posix()
                done[g["file"]] = [f"{folder}/{p.name}" for p in chunk_paths(path)]
            if done[g["file"]]:
                g["external_data"] = done[g["file"]]
            else:
                g.pop("external_data", None)
    first = next(iter(manifest["dtypes"].values()))["graphs"]["text_llm"]["file"]
    manifest["graphs"]["text_llm"] = _io(package / first, "text_llm")
    listed = {f["path"] for f in manifest["files"]}
    paths = sorted(listed | {c for cs in done.values() for c in cs} | {t["file"] for t in tables.values()})
    manifest["files"] = [
        {"path": p, "bytes": (package / p).stat().st_size, "sha256": sha256(package / p)}
        for p in paths
        if (package / p).exists()
    ]
    for entry in manifest["dtypes"].values():
        entry["max_buffer_bytes"] = dtype_max_buffer(package, entry)
    manifest["config"]["max_buffer_bytes"] = manifest_max_buffer(package, manifest["dtypes"])
    validate_manifest(manifest)
    (package / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
