"""Which safetensors files hold a checkpoint subfolder's tensors, by the names transformers and
diffusers give them (no torch here: the numpy weight-map applier uses it too)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ExportError


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise ExportError(f"missing {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ExportError(f"{path} is not valid JSON: {e}") from None


# Weight files as transformers and diffusers name them: ``<stem>[.<variant>][-00001-of-00003].safetensors``
# and the index ``<stem>.safetensors.index[.<variant>].json`` (the variant goes before the last
# suffix: ``_add_variant`` in both libraries).
WEIGHT_FILE = re.compile(
    r"^(?P<stem>[^.]+?)(?:\.(?P<variant>[A-Za-z0-9_]+))?(?:-(?P<part>\d+)-of-(?P<parts>\d+))?\.safetensors$"
)
INDEX_FILE = re.compile(r"^(?P<stem>[^.]+)\.safetensors\.index(?:\.(?P<variant>[A-Za-z0-9_]+))?\.json$")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


@dataclass
class WeightFiles:
    """The files a subfolder's tensors are read from (``select_weights``)."""

    folder: Path
    variant: str | None  # None: the default (non-variant) files
    files: list[Path]
    index: Path | None = None
    weight_map: dict[str, str] | None = None  # tensor -> file name, from the index


def _weight_groups(folder: Path) -> dict[str | None, dict[str, list[str]]]:
    groups: dict[str | None, dict[str, list[str]]] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file():
            continue
        if p.name.endswith(".safetensors"):
            m = WEIGHT_FILE.match(p.name)
            if m is None:
                raise ExportError(f"{p}: cannot tell the model, variant and shard from this file name")
            groups.setdefault(m["variant"], {"files": [], "indexes": []})["files"].append(p.name)
        elif INDEX_FILE.match(p.name):
            groups.setdefault(INDEX_FILE.match(p.name)["variant"], {"files": [], "indexes": []})["indexes"].append(
                p.name
            )
    return groups


def select_weights(folder: Path) -> WeightFiles:
    """Which safetensors files hold a subfolder's tensors.

    - The default (non-variant) files when there are any; ``variant`` files beside them
      (``model.fp16.safetensors``, ``diffusion_pytorch_model.fp16-00001-of-00002.safetensors``,
      …) are ignored: they are a lower-precision copy of the same weights for downloads, and
      the package is made from the full-precision ones.
    - One variant only when it is all there is; two variants and no default files are refused
      (which copy was meant is not knowable). Files of two variants are never mixed.
    - Within the chosen files, an index (``*.safetensors.index[.variant].json``) decides which
      file holds which tensor; without one, a single file, or shards ``-0000k-of-0000n`` that
      must all be there.
    - Pickle files (``pytorch_model.bin``, …) are never opened: a folder with only those is
      refused with a message.
    """
    folder = Path(folder)
    groups = _weight_groups(folder)
    if not any(g["files"] for g in groups.values()):
        pickles = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name.endswith(PICKLE_SUFFIXES))
        if pickles:
            raise ExportError(
                f"{folder} has only pickle weights ({', '.join(pickles)}), which are not read: unpickling a file "
                "can run code stored in it. Save the weights as safetensors (e.g. save_pretrained with "
                "safe_serialization=True, on a machine you trust) and convert that"
            )
        raise ExportError(f"{folder} has no .safetensors weights")
    if None in groups:
        variant = None
    else:
        variants = sorted(v for v in groups if v is not None)
        if len(variants) > 1:
            raise ExportError(
                f"{folder} has no default weight files, only the variants {', '.join(variants)}: "
                "which one to convert is ambiguous (keep one, or add the full-precision files)"
            )
        variant = variants[0]
    group = groups[variant]
    label = f"variant '{variant}'" if variant else "default"
    if len(group["indexes"]) > 1:
        raise ExportError(f"{folder} has several {label} index files: {', '.join(group['indexes'])}")
    if group["indexes"]:
        index_path = folder / group["indexes"][0]
        index = read_json(index_path)
        weight_map = index.get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ExportError(f"{index_path} has no weight_map")
        for name, file in weight_map.items():
            if not isinstance(file, str) or Path(file).name != file:
                raise ExportError(f"{index_path}: tensor '{name}' is mapped to {file!r}, not a file name in {folder}")
        files = sorted(set(weight_map.values()))
        for file in files:
            if not (folder / file).is_file():
                raise ExportError(f"{index_path} names {file}, which is missing from {folder}")
        return WeightFiles(folder, variant, [folder / f for f in files], index_path, dict(weight_map))
    names = group["files"]
    if not names:
        raise ExportError(f"{folder} has a {label} index but no {label} weight files")
    parsed = [WEIGHT_FILE.match(n) for n in names]
    if len({m["stem"] for m in parsed}) > 1:
        raise ExportError(f"{folder} holds the weights of more than one model: {', '.join(names)}")
    singles = [m.string for m in parsed if m["part"] is None]
    shards = [m for m in parsed if m["part"] is not None]
    if singles and shards:
        raise ExportError(
            f"{folder} has both {singles[0]} and shards ({shards[0].string}, …) and no index saying which to read"
        )
    if shards:
        counts = {int(m["parts"]) for m in shards}
        if len(counts) > 1:
            raise ExportError(f"{folder}: shards of different counts ({', '.join(m.string for m in shards)})")
        (n,) = counts
        have = {int(m["part"]) for m in shards}
        lost = [k for k in range(1, n + 1) if k not in have]
        if lost:
            raise ExportError(f"{folder}: shard {lost[0]} of {n} is missing (found {', '.join(names)})")
    return WeightFiles(folder, variant, [folder / n for n in names])
