"""Rewrite an existing package's graphs into the current layout: every graph's weights in
external-data chunks beside it (external_data.py), the manifest's files and ``external_data``
lists updated and validated. The graphs' maths is unchanged (same nodes, same weight bytes), so a
package whose checkpoint is not at hand can move to the layout without converting again.

    python -m editmgt_export relayout <package folder> [--chunk-bytes N]
"""
from __future__ import annotations

import json
from pathlib import Path

import onnx

from .external_data import CHUNK_BYTES, chunk_paths
from .onnx_export import save_model
from .package import sha256, validate_manifest


def relayout_package(package: Path, chunk_bytes: int = CHUNK_BYTES) -> dict:
    package = Path(package)
    manifest = json.loads((package / "manifest.json").read_text())
    done: dict[str, list[str]] = {}  # graph file -> its chunk paths (dtypes may share a file)
    for entry in manifest["dtypes"].values():
        for g in entry["graphs"].values():
            if g["file"] not in done:
                path = package / g["file"]
                save_model(onnx.load(str(path)), path, chunk_bytes=chunk_bytes)  # loads old external data first
                folder = Path(g["file"]).parent.as_posix()
                done[g["file"]] = [f"{folder}/{p.name}" for p in chunk_paths(path)]
            if done[g["file"]]:
                g["external_data"] = done[g["file"]]
            else:
                g.pop("external_data", None)
    listed = {f["path"] for f in manifest["files"]}
    paths = sorted(listed | {c for cs in done.values() for c in cs})
    manifest["files"] = [{"path": p, "bytes": (package / p).stat().st_size, "sha256": sha256(package / p)}
                         for p in paths if (package / p).exists()]
    validate_manifest(manifest)
    (package / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
