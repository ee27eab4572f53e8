"""Apply weight maps to a checkpoint: the package's graph files from templates, with numpy only
(no torch, no onnx). docs/model-package.md, "Templates and weight maps", describes the maps.

The checkpoint is read tensor by tensor from its safetensors files (by byte range, nothing
mapped); an entry without transforms is read, transformed and encoded in row blocks (float32,
float16, int8 rows, token rows), and so is a q4 weight that is its source transposed (a linear
layer's weight: a column of W is a row of the source). Other entries (transposed float weights,
q8's per-tensor scale) hold one tensor at a time.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from .errors import ExportError
from .weight_files import select_weights

MAP_SUFFIX = ".weights.json"
ROW_BLOCK_BYTES = 16 << 20  # rows transformed and encoded at a time
SAFETENSORS_DTYPES = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
}
FP16_MIN_POSITIVE = 5.96e-08  # onnxruntime's float16 converter clamps to these
FP16_MAX_FINITE = 65504.0


# ---------------------------------------------------------------------------------------------
# checkpoint tensors


class SafetensorsFolder:
    """The tensors of one checkpoint subfolder, by name (headers read up front, data on demand),
    from the files the checkpoint reader chooses (``weight_files.select_weights``: an index
    decides, variant files beside the default ones are not read, pickles are refused)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.index: dict[str, tuple[Path, dict, int]] = {}
        self.bytes_read = 0  # tensor bytes read so far
        chosen = select_weights(self.folder)
        files = chosen.files
        for f in files:
            with open(f, "rb") as fh:
                size = int.from_bytes(fh.read(8), "little")
                header = json.loads(fh.read(size))
            for name, info in header.items():
                # with an index, a tensor is read from the file the index names
                if name != "__metadata__" and (chosen.weight_map is None or chosen.weight_map.get(name) == f.name):
                    self.index[name] = (f, info, 8 + size)

    def info(self, name: str) -> tuple[Path, np.dtype, tuple[int, ...], int]:
        """(file, stored dtype, shape, byte offset of the data) of a tensor, checked against its file."""
        if name not in self.index:
            raise ExportError(f"{self.folder}: no tensor '{name}' in its safetensors files")
        path, info, base = self.index[name]
        dtype = SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ExportError(
                f"{path.parent.name}/{path.name}: tensor '{name}' has dtype {info['dtype']}, which is not supported"
            )
        start, end = info["data_offsets"]
        shape = tuple(info["shape"])
        if end - start != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise ExportError(
                f"{path.parent.name}/{path.name}: tensor '{name}' has {end - start} bytes for shape {list(shape)}"
            )
        if os.path.getsize(path) < base + end:
            raise ExportError(
                f"{path.parent.name}/{path.name}: tensor '{name}' lies past the end of the file (truncated?)"
            )
        return path, dtype, shape, base + start

    def shape(self, name: str) -> tuple[int, ...]:
        return self.info(name)[2]

    def float32(self, name: str, rows: slice | None = None) -> np.ndarray:
        """The tensor, or rows [start, stop) of its first axis, as float32, read from the file
        (bf16 and float16 widen exactly); only those rows are read and held."""
        path, dtype, shape, offset = self.info(name)
        if not shape:
            rows = None
        n = shape[0] if shape else 1
        start, stop = (0, n) if rows is None else (rows.start or 0, n if rows.stop is None else min(rows.stop, n))
        row = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        with open(path, "rb") as f:
            f.seek(offset + start * row)
            data = f.read((stop - start) * row)
        if len(data) != (stop - start) * row:
            raise ExportError(f"{path.parent.name}/{path.name}: tensor '{name}' is cut short")
        self.bytes_read += len(data)
        a = np.frombuffer(data, dtype).reshape((stop - start, *shape[1:]) if shape else ())
        if self.index[name][1]["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        elif not np.issubdtype(dtype, np.floating):
            raise ExportError(f"{path.parent.name}/{path.name}: tensor '{name}' is {dtype}, not a float tensor")
        else:
            a = a.astype(np.float32)
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            first = int(bad[0])
            raise ExportError(
                f"{path.parent.name}/{path.name}: tensor '{name}' value {start * (row // dtype.itemsize) + first} "
                f"is {a.reshape(-1)[first]}; a weight must be finite (NaN and Inf are refused)"
            )
        return a

    def alias(self, name: str, target: str) -> None:
        """Read ``name`` as the tensor ``target`` (tied or prefixed names)."""
        self.index[name] = self.index[target]


TRANSFORMER_SUBFOLDERS = ("editmgt", "transformer")
LLM_EMBEDDING, LLM_HEAD = "model.embed_tokens.weight", "lm_head.weight"


class Checkpoint:
    """A checkpoint's subfolders by the names weight maps use: ``editmgt`` or ``transformer`` is
    whichever the checkpoint has; ``llm_encoder``'s tensors go by transformers' causal-LM names
    (a bare ``Gemma2Model``'s get the ``model.`` prefix, and with tied embeddings, config's
    ``tie_word_embeddings`` true or absent, ``lm_head.weight`` is the embedding table)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.folders: dict[str, SafetensorsFolder] = {}

    def folder(self, subfolder: str) -> SafetensorsFolder:
        if subfolder not in self.folders:
            name = subfolder
            if subfolder in TRANSFORMER_SUBFOLDERS:
                name = next((s for s in TRANSFORMER_SUBFOLDERS if (self.root / s).is_dir()), subfolder)
            path = self.root / name
            if not path.is_dir():
                raise ExportError(f"checkpoint {self.root} has no '{name}' subfolder")
            folder = SafetensorsFolder(path)
            if subfolder == "llm_encoder":
                if not any(n.startswith("model.") for n in folder.index):
                    for n in list(folder.index):
                        folder.alias(f"model.{n}", n)
                config = path / "config.json"
                tied = json.loads(config.read_text()).get("tie_word_embeddings", True) if config.is_file() else True
                if tied is not False and LLM_EMBEDDING in folder.index:
                    folder.alias(LLM_HEAD, LLM_EMBEDDING)
            self.folders[subfolder] = folder
        return self.folders[subfolder]

    @property
    def bytes_read(self) -> int:
        return sum(f.bytes_read for f in self.folders.values())


# ---------------------------------------------------------------------------------------------
# transforms and encodings


def apply_transform(x: np.ndarray, t: dict) -> np.ndarray:
    op = t["op"]
    if op == "transpose":
        return np.transpose(x, t["perm"])
    if op == "reshape":
        return np.reshape(x, t["shape"])
    if op == "gather":
        return np.take(x, np.asarray(t["indices"], dtype=np.int64), axis=t["axis"])
    if op == "slice":
        index = [slice(None)] * x.ndim
        for a in t["axes"]:
            stop = a["stop"] if a["stop"] >= 0 else None  # a negative step's stop of -1 means "to the start"
            index[a["axis"]] = slice(a["start"], stop, a["step"])
        return x[tuple(index)]
    raise ExportError(f"unknown weight-map transform {op!r}")


def to_float16(x: np.ndarray) -> np.ndarray:
    """onnxruntime's float16 conversion: magnitudes below 5.96e-8 (not zero) become ±5.96e-8,
    finite ones above 65504 become ±65504, then round to nearest even."""
    x = np.asarray(x, np.float32)
    lo, hi = np.float32(FP16_MIN_POSITIVE), np.float32(FP16_MAX_FINITE)
    x = np.where((x > 0) & (x < lo), lo, x)
    x = np.where((x < 0) & (x > -lo), -lo, x)
    x = np.where((x > hi) & (x < np.inf), hi, x)
    x = np.where((x < -hi) & (x > -np.inf), -hi, x)
    return x.astype(np.float16)


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """C's roundf for x >= 0, exactly (x + 0.5 in float32 can round up)."""
    floor = np.floor(x)
    return floor + (x - floor >= np.float32(0.5))


def q4_blocks(w: np.ndarray, block: int, scale_type: str) -> tuple[np.ndarray, np.ndarray]:
    """MatMulNBits 4-bit symmetric blocks of a [K, N] weight: (blocks uint8 [N, K/block, block/2],
    scales [N · K/block]). Per column and block of ``block`` rows (K zero-padded): m is the value of
    largest magnitude (of the block's minimum and maximum, the minimum on a tie), scale = m / -8, q = roundf(v · (1/scale) + 8) clamped to
    [0, 15] (q = 8 where m = 0); two values a byte, the first in the low nibble."""
    k, n = w.shape
    nb = -(-k // block)
    cols = np.zeros((n, nb * block), np.float32)
    cols[:, :k] = w.T
    cols = cols.reshape(n, nb, block)
    lo, hi = cols.min(axis=2, keepdims=True), cols.max(axis=2, keepdims=True)
    m = np.where(np.abs(lo) >= np.abs(hi), lo, hi)  # a tie in magnitude takes the negative value
    scale = (m / np.float32(-8)).astype(np.float32)
    if scale_type == "float16":
        scale = scale.astype(np.float16).astype(np.float32)
    with np.errstate(divide="ignore"):
        recip = np.where(scale != 0, np.float32(1) / scale, np.float32(0)).astype(np.float32)
    q = _round_half_away((cols * recip).astype(np.float32) + np.float32(8))
    q = np.clip(q, 0, 15).astype(np.uint8)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    scales = scale.reshape(-1).astype(np.float16 if scale_type == "float16" else np.float32)
    return packed, scales


def q8_tensor(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """onnxruntime's dynamic int8 weight quantisation (per tensor, symmetric): absmax over the
    tensor and 0, scale = float32(2·absmax / 254) computed in float64 (1 where it is below the
    smallest normal float32), q = clip(round_half_even(w / scale), -128, 127), zero point 0."""
    w = np.asarray(w, np.float32)
    rmin = min(np.float32(w.min()), np.float32(0)) if w.size else np.float32(0)
    rmax = max(np.float32(w.max()), np.float32(0)) if w.size else np.float32(0)
    absmax = max(abs(rmin), abs(rmax))
    scale64 = (np.float64(absmax) - np.float64(-absmax)) / np.float64(254)
    if scale64 < np.finfo(np.float32).tiny:
        scale = np.float32(1.0)
    else:
        scale = np.float32(scale64)
    q = np.clip(np.round(w / scale), -128, 127).astype(np.int8)
    return q, np.array(scale, np.float32), np.array(0, np.int8)


def int8_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Token-table rows as int8 with one float32 scale per row (dtypes.int8_rows)."""
    scale = np.abs(values).max(axis=1, keepdims=True) / np.float32(127.0)
    scale[scale == 0] = 1.0
    return np.clip(np.rint(values / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


class Applier:
    """Writes one package dtype's graph files from its templates and maps."""

    def __init__(self, checkpoint: Checkpoint):
        self.ckpt = checkpoint
        self._cache: tuple[str, dict] | None = None  # the last quantised weight (its parts are adjacent)
        # the other part of the last q4 weight quantised by rows (its blocks and scales are adjacent
        # entries: the second is taken from here instead of reading and quantising the tensor again)
        self._q4_rows: tuple[str, dict[str, list[bytes]]] | None = None

    def value(self, entry: dict, rows: slice | None = None) -> np.ndarray:
        """The entry's float32 value after its transforms (``rows``: of the result's first axis,
        for entries whose transforms keep rows apart)."""
        sources = entry["sources"]
        if len(sources) != 1:
            raise ExportError(f"{entry['name']}: {len(sources)} sources (one expected)")
        src = sources[0]
        folder = self.ckpt.folder(src["subfolder"])
        x = folder.float32(src["tensor"], rows)
        for t in entry["transforms"]:
            x = apply_transform(x, t)
        enc = entry["encoding"]
        checked = enc["type"] in ("float32", "float16", "token_rows") or enc.get("part") == "values"
        expected = entry["shape"] if rows is None else [x.shape[0], *entry["shape"][1:]]
        if checked and enc["type"] != "q8" and list(x.shape) != expected:
            raise ExportError(f"{entry['name']}: {src['subfolder']}/{src['tensor']} gives shape {list(x.shape)}")
        if entry["encoding"].get("input") == "float16":
            x = to_float16(x).astype(np.float32)
        return np.ascontiguousarray(x, dtype=np.float32)

    def _whole(self, entry: dict) -> dict:
        key = json.dumps([entry["sources"], entry["transforms"], entry["encoding"].get("input")])
        if self._cache is None or self._cache[0] != key:
            self._cache = None
            self._cache = (key, {"value": self.value(entry)})
        return self._cache[1]

    def chunks(self, entry: dict, constants: Path | None):
        """The entry's bytes, in order, a block at a time."""
        if "constant" in entry:
            with open(constants, "rb") as f:
                f.seek(entry["constant"]["offset"])
                yield f.read(entry["constant"]["length"])
            return
        enc = entry["encoding"]
        kind = enc["type"]
        streamable = kind in ("float32", "float16", "token_rows", "int8_rows")
        if streamable and not entry["transforms"] and len(entry["shape"]) >= 1:
            src = entry["sources"][0]
            have = list(self.ckpt.folder(src["subfolder"]).shape(src["tensor"]))
            scales = kind == "int8_rows" and enc["part"] == "scales"
            if (have[:1] if scales else have) != (entry["shape"][:1] if scales else entry["shape"]):
                raise ExportError(
                    f"{entry['name']}: {src['subfolder']}/{src['tensor']} has shape {have}, the template wants {entry['shape']}"
                )
            n = entry["shape"][0]
            row = max(1, int(np.prod(entry["shape"][1:], dtype=np.int64)) * 4)
            step = max(1, ROW_BLOCK_BYTES // row)
            for r in range(0, n, step):
                yield self.encode(entry, self.value(entry, slice(r, min(n, r + step))))
            return
        if streamable:
            yield self.encode(entry, self.value(entry))
            return
        if kind == "q4" and entry["transforms"] == [{"op": "transpose", "perm": [1, 0]}]:
            # W = source.T: column n of W is row n of the source, and q4 works per column
            yield from self._q4_by_rows(entry)
            return
        whole = self._whole(entry)
        if kind == "q4":
            if "q4" not in whole:
                w = whole["value"]
                if w.ndim != 2:
                    raise ExportError(f"{entry['name']}: q4 needs a 2-D weight, not {list(w.shape)}")
                scale_type = enc.get("scale_type", "float16" if enc.get("input") == "float16" else "float32")
                whole["q4"] = q4_blocks(w, enc["block_size"], scale_type)
            blocks, scales = whole["q4"]
            yield (blocks if enc["part"] == "blocks" else scales).tobytes()
        elif kind == "q8":
            if "q8" not in whole:
                whole["q8"] = q8_tensor(whole["value"])
            q, scale, zp = whole["q8"]
            yield {"values": q, "scale": scale, "zero_point": zp}[enc["part"]].tobytes()
        else:
            raise ExportError(f"{entry['name']}: unknown encoding {kind!r}")

    def _q4_by_rows(self, entry: dict):
        enc = entry["encoding"]
        src = entry["sources"][0]
        folder = self.ckpt.folder(src["subfolder"])
        shape = folder.shape(src["tensor"])
        if len(shape) != 2:
            raise ExportError(f"{entry['name']}: q4 needs a 2-D weight, not {list(shape)}")
        n, k = shape
        part = enc["part"]
        key = json.dumps([entry["sources"], enc.get("input"), enc["block_size"], enc["scale_type"]])
        if self._q4_rows is not None and self._q4_rows[0] == key and part in self._q4_rows[1]:
            yield from self._q4_rows[1].pop(part)
            return
        self._q4_rows = None
        other: list[bytes] = []
        step = max(1, ROW_BLOCK_BYTES // (4 * k))
        for r in range(0, n, step):
            rows = folder.float32(src["tensor"], slice(r, min(n, r + step)))
            if enc.get("input") == "float16":
                rows = to_float16(rows).astype(np.float32)
            blocks, scales = q4_blocks(np.ascontiguousarray(rows.T), enc["block_size"], enc["scale_type"])
            mine, theirs = (blocks, scales) if part == "blocks" else (scales, blocks)
            other.append(theirs.tobytes())
            yield mine.tobytes()
        self._q4_rows = (key, {"scales" if part == "blocks" else "blocks": other})

    @staticmethod
    def encode(entry: dict, x: np.ndarray) -> bytes:
        enc = entry["encoding"]
        kind = enc["type"]
        if kind == "float32":
            return x.astype("<f4").tobytes()
        if kind == "float16":
            return to_float16(x).astype("<f2").tobytes()
        if kind == "int8_rows":
            q, scale = int8_rows(x)
            if enc["part"] == "values":
                return q.tobytes()
            return scale.astype("<f2" if enc.get("scale_type") == "float16" else "<f4").tobytes()
        if kind == "token_rows":
            fmt = enc["format"]
            if fmt == "float32":
                return x.astype("<f4").tobytes()
            if fmt == "float16":
                return to_float16(x).astype("<f2").tobytes()
            q, scale = int8_rows(x)
            if enc.get("scale_type") == "float16":  # the graph held the scale as float16
                scale = scale.astype(np.float16).astype(np.float32)
            rows = np.empty((q.shape[0], 4 + q.shape[1]), np.uint8)
            rows[:, :4] = scale.astype("<f4").view(np.uint8)
            rows[:, 4:] = q.view(np.uint8)
            return rows.tobytes()
        raise ExportError(f"{entry['name']}: unknown encoding {kind!r}")


def apply_graph(applier: Applier, template_dir: Path, graph: str, out: Path) -> list[Path]:
    """Write one graph's files (its .onnx, external-data chunks, token table) into ``out``."""
    weight_map = json.loads((template_dir / f"{graph}{MAP_SUFFIX}").read_text())
    out.mkdir(parents=True, exist_ok=True)
    written = [out / weight_map["template"]]
    shutil.copyfile(template_dir / weight_map["template"], written[0])
    for f in weight_map["files"]:
        with open(out / f["file"], "wb") as fh:
            fh.truncate(f["bytes"])
        written.append(out / f["file"])
    constants = template_dir / weight_map["constants"] if weight_map.get("constants") else None
    handles: dict[str, object] = {}
    try:
        for entry in weight_map["entries"]:
            place = entry["place"]
            fh = handles.get(place["file"])
            if fh is None:
                fh = handles[place["file"]] = open(out / place["file"], "r+b")
            fh.seek(place["offset"])
            n = 0
            for data in applier.chunks(entry, constants):
                fh.write(data)
                n += len(data)
            if n != place["length"]:
                raise ExportError(f"{graph}: {entry['name']} encodes to {n} bytes, its place holds {place['length']}")
    finally:
        for fh in handles.values():
            fh.close()
    return written


def apply_templates(checkpoint: Path, templates: Path, out: Path, dtypes=None) -> list[Path]:
    """Every graph of every dtype (or of ``dtypes``) of the templates at ``templates``, with the
    weights of ``checkpoint``, into ``out/<dtype>/``."""
    ckpt = Checkpoint(checkpoint)
    written = []
    for folder in sorted(p for p in Path(templates).iterdir() if p.is_dir()):
        if dtypes is not None and folder.name not in dtypes:
            continue
        applier = Applier(ckpt)
        for m in sorted(folder.glob(f"*{MAP_SUFFIX}")):
            written += apply_graph(applier, folder, m.name[: -len(MAP_SUFFIX)], Path(out) / folder.name)
    return written
