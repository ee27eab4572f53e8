"""Write a model package folder (docs/model-package.md): graphs per dtype, tokenizers,
codebook colours and a manifest validated by src/engine/manifest.schema.json.
Everything is written into a temporary sibling folder and renamed into place at the end."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch

from . import __version__
from .buffers import dtype_max_buffer, manifest_max_buffer
from .checkpoint import Checkpoint, load_tokenizer
from .dtypes import DTYPES, convert_graph, graph_dtype
from .errors import ExportError
from .external_data import CHUNK_BYTES, MAX_CHUNK_BYTES, chunk_paths, current_umask
from .graphs import GRAPH_IO, TRACED_IO
from .mosaics import codebook_mosaics
from .onnx_export import export_all
from .pipeline import DEFAULT_NEGATIVE_PROMPT
from .text_table import move_token_table, table_path

REPO = Path(__file__).resolve().parents[3]
SCHEMA_PATH = REPO / "src" / "engine" / "manifest.schema.json"
FORMAT_VERSION = 1
PROVIDERS = {
    "fp32": ["webgpu", "wasm"],
    "fp16": ["webgpu"],
    "q4": ["webgpu", "wasm"],
    "q4f16": ["webgpu"],
    "q8": ["wasm"],
}
ONNX_DTYPES = {1: "float32", 6: "int32", 7: "int64", 10: "float16", 9: "bool"}
CLIP_LEN, LLM_LEN = 77, 256


def default_attention_blocks(ckpt: Checkpoint) -> list[int]:
    """The reference suggests blocks 28..36 of 42 (double blocks counted first); a model with
    fewer blocks uses its single-stream blocks."""
    n_double, n_single = ckpt.transformer.config.num_layers, ckpt.transformer.config.num_single_layers
    if n_double + n_single >= 37:
        return list(range(28, 37))
    return list(range(n_double, n_double + n_single))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _io(model_path: Path, graph: str, names: dict = GRAPH_IO) -> dict:
    model = onnx.load(str(model_path), load_external_data=False)

    def desc(values):
        out = []
        for v in values:
            t = v.type.tensor_type
            out.append(
                {
                    "name": v.name,
                    "dtype": ONNX_DTYPES[t.elem_type],
                    "shape": [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim],
                }
            )
        return out

    ins, outs = desc(model.graph.input), desc(model.graph.output)
    expected_in, expected_out = names[graph]
    if [i["name"] for i in ins] != expected_in or [o["name"] for o in outs] != expected_out:
        raise ExportError(
            f"{graph}: exported I/O names {[i['name'] for i in ins]} -> {[o['name'] for o in outs]} break the contract"
        )
    return {"inputs": ins, "outputs": outs}


def package_tokenizers(ckpt: Checkpoint, out: Path, text_len: int = LLM_LEN) -> dict:
    """tokenizer_clip/ and tokenizer_llm/ with padding + truncation set inside tokenizer.json
    (the LLM's to ``text_len`` tokens)."""
    result = {}
    for key, sub, length in (("clip", "tokenizer", CLIP_LEN), ("llm", "llm_encoder", text_len)):
        try:
            hf = load_tokenizer(ckpt.root / sub)
        except Exception as e:
            raise ExportError(
                f"cannot load the {key} tokenizer from {ckpt.root / sub}: {str(e).splitlines()[0]}"
            ) from None
        backend = hf.backend_tokenizer
        pad_id = hf.pad_token_id if hf.pad_token_id is not None else hf.eos_token_id
        pad_token = hf.convert_ids_to_tokens(pad_id)
        # the side the tokenizer really pads on (its class default when the config names none:
        # left for Gemma); tokenizer.json and the manifest both record it
        side = "left" if str(getattr(hf, "padding_side", "right") or "right").lower() == "left" else "right"
        backend.enable_truncation(length)
        backend.enable_padding(pad_id=pad_id, pad_token=pad_token, length=length, direction=side)
        folder = out / f"tokenizer_{key}"
        folder.mkdir(parents=True, exist_ok=True)
        backend.save(str(folder / "tokenizer.json"))
        files = [f"tokenizer_{key}/tokenizer.json"]
        for extra in ("tokenizer_config.json", "special_tokens_map.json"):
            if (ckpt.root / sub / extra).exists():
                shutil.copy(ckpt.root / sub / extra, folder / extra)
                files.append(f"tokenizer_{key}/{extra}")
        result[key] = {
            "files": files,
            "max_length": length,
            "pad_id": int(pad_id),
            "padding_side": side,
            "truncation": True,
        }
    return result


def codebook_colors(ckpt: Checkpoint, token_grid: tuple[int, int], block: int = 2) -> list[list[float]]:
    """Mean RGB in [0,1] of each code: decode mosaics in which every code fills a block×block
    patch of the token grid (all codes in codebook_size / (h·w/block²) decodes, e.g. 8 at 1024 px)
    and average each patch's pixels."""
    from .graphs import VqDecode

    k = ckpt.vq.config.num_vq_embeddings
    decode = VqDecode(ckpt.vq).eval()
    mosaics = codebook_mosaics(k, token_grid, block)
    with torch.no_grad():
        pixels = np.concatenate([decode(torch.from_numpy(m[None])).numpy() for m in mosaics])
    return [[round(float(v), 6) for v in rgb] for rgb in patch_means(pixels, token_grid, block)[:k]]


def patch_means(pixels: np.ndarray, token_grid: tuple[int, int], block: int = 2) -> np.ndarray:
    """[n, 3, H, W] decoded mosaics -> [n·patches, 3] mean colour per patch (mosaic order)."""
    n, c, height, width = pixels.shape
    gh, gw = token_grid[0] // block, token_grid[1] // block
    patches = pixels.reshape(n, c, gh, height // gh, gw, width // gw).mean(axis=(3, 5))  # [n, c, gh, gw]
    return patches.transpose(0, 2, 3, 1).reshape(-1, c)


def source_revision(root: Path) -> str:
    parts = root.resolve().parts
    if "snapshots" in parts:  # huggingface_hub cache: .../snapshots/<commit>
        return parts[parts.index("snapshots") + 1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and (p.suffix == ".json" or p.suffix == ".safetensors"):
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes() if p.suffix == ".json" else str(p.stat().st_size).encode())
    return "content:" + h.hexdigest()[:16]


def build_manifest(
    ckpt: Checkpoint,
    name: str,
    source: str,
    revision: str,
    dtypes,
    resolution: int,
    token_grid,
    transformer_grid,
    attention_blocks,
    graphs_io: dict,
    tokenizers: dict,
    colors,
    out: Path,
    dated: bool = True,
    graph_dtypes: dict | None = None,
    text_len: int = LLM_LEN,
    token_tables: dict[str, dict] | None = None,
) -> dict:
    cfg = ckpt.transformer.config
    files = []
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.name != "manifest.json":
            files.append({"path": p.relative_to(out).as_posix(), "bytes": p.stat().st_size, "sha256": sha256(p)})
    dtype_entries = {}
    for d in dtypes:
        graphs = {}
        for g in GRAPH_IO:
            entry = {"file": f"{d}/{g}.onnx"}
            compute = d if d == "fp32" else graph_dtype(g, d, (graph_dtypes or {}).get(d))
            if compute != d:
                entry["dtype"] = compute
            chunks = chunk_paths(out / d / f"{g}.onnx")
            for c in chunks:
                if c.stat().st_size > MAX_CHUNK_BYTES:
                    raise ExportError(
                        f"{d}/{c.name} has {c.stat().st_size:,} bytes: one of its tensors is 2 GiB or more, "
                        "which browsers cannot read as one file; package a smaller dtype (fp16, q4, q8)"
                    )
            if chunks:
                entry["external_data"] = [f"{d}/{p.name}" for p in chunks]
            if g == "text_llm" and token_tables and d in token_tables:
                entry["token_table"] = {"file": f"{d}/{table_path(out / d / f'{g}.onnx').name}", **token_tables[d]}
            graphs[g] = entry
        dtype_entries[d] = {"providers": PROVIDERS[d], "graphs": graphs}
        dtype_entries[d]["max_buffer_bytes"] = dtype_max_buffer(out, dtype_entries[d])
    seq = token_grid[0] * token_grid[1]
    import diffusers
    import onnxruntime
    import transformers

    generator = {
        "tool": f"editmgt_export {__version__}",
        "versions": {
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "diffusers": diffusers.__version__,
            "transformers": transformers.__version__,
        },
    }
    if dated:  # left out of reproducible builds (the tiny package is regenerated byte for byte)
        generator["created"] = time.strftime("%Y-%m-%d")
    return {
        "format_version": FORMAT_VERSION,
        "name": name,
        "source": {"id": source, "revision": revision},
        "dtypes": dtype_entries,
        "graphs": graphs_io,
        "files": files,
        "config": {
            "resolution": resolution,
            "resolutions": {
                str(resolution): {"token_grid": list(token_grid), "transformer_grid": list(transformer_grid)}
            },
            "codebook_size": int(cfg.codebook_size),
            "vocab_size": int(cfg.vocab_size),
            "mask_token_id": ckpt.mask_token_id,
            "masking_schedule": ckpt.scheduler_config.get("masking_schedule", "cosine"),
            "vae_scale_factor": ckpt.vae_scale_factor,
            "text": {
                "clip_length": CLIP_LEN,
                "llm_length": text_len,
                "clip_dim": int(cfg.pooled_projection_dim),
                "llm_dim": int(cfg.joint_attention_dim),
            },
            "attention_blocks": list(attention_blocks),
            "transformer": {
                "num_layers": int(cfg.num_layers),
                "num_single_layers": int(cfg.num_single_layers),
                "num_attention_heads": int(cfg.num_attention_heads),
                "attention_head_dim": int(cfg.attention_head_dim),
                "connector_type": cfg.connector_type,
                "downsample": bool(cfg.downsample),
                "upsample": bool(cfg.upsample),
            },
            "micro_conds": [resolution, resolution, 0, 0, 6],
            "readback_bytes_per_step": 3 * seq * 4 + transformer_grid[0] * transformer_grid[1] * 4,
            "max_buffer_bytes": manifest_max_buffer(out, dtype_entries),
        },
        "defaults": {
            "steps": 36,
            "guidance_scale": 6.0,
            "reference_strength": 1.1,
            "temperature": [2.0, 0.0],
            "region_hold_lambda": 0.01,
            "region_hold_enabled": False,
        },
        "negative_prompt": DEFAULT_NEGATIVE_PROMPT,
        "tokenizers": tokenizers,
        "codebook_colors": colors,
        "generator": generator,
    }


def reuse_fp32(
    ckpt: Checkpoint,
    folder: Path,
    token_grid,
    resolution: int,
    attention_blocks,
    chunk_bytes: int = CHUNK_BYTES,
    text_len: int = LLM_LEN,
) -> dict[str, Path]:
    """fp32 graphs kept in ``folder``, exporting the missing ones; a stamp of the checkpoint and
    options guards against reusing graphs of another model."""
    stamp = json.dumps(
        {
            "revision": source_revision(ckpt.root),
            "resolution": resolution,
            "attention_blocks": list(attention_blocks),
            "chunk_bytes": chunk_bytes,
            "text_len": text_len,
        },
        sort_keys=True,
    )
    stamp_file = folder / "export.json"
    if folder.exists() and (not stamp_file.exists() or stamp_file.read_text() != stamp):
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(stamp)
    done = folder / "complete.json"
    finished = json.loads(done.read_text()) if done.exists() else []
    missing = [g for g in GRAPH_IO if g not in finished]
    for g in missing:  # one at a time, recorded as each completes
        export_all(
            ckpt,
            folder,
            token_grid,
            resolution,
            attention_blocks,
            text_len=text_len,
            graphs=[g],
            chunk_bytes=chunk_bytes,
        )
        finished.append(g)
        done.write_text(json.dumps(finished))
    return {g: folder / f"{g}.onnx" for g in GRAPH_IO}


def validate_manifest(manifest: dict) -> None:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator(schema).validate(manifest)


def read_manifest(package: Path) -> dict:
    """A package's manifest.json, validated against the schema (every Python reader goes through this)."""
    manifest = json.loads((Path(package) / "manifest.json").read_text())
    validate_manifest(manifest)
    return manifest


def write_package(
    ckpt: Checkpoint,
    out: Path,
    dtypes,
    name: str,
    source: str,
    resolution: int | None = None,
    attention_blocks=None,
    log=print,
    dated: bool = True,
    fp32_dir: Path | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    graph_dtypes: dict[str, dict[str, str]] | None = None,
    text_len: int = LLM_LEN,
    provenance_out: dict | None = None,
    colors: bool = True,
    card: dict | None = None,
) -> dict:
    """Convert ``ckpt`` into a package at ``out`` (atomically: temp folder, then rename).
    ``dated=False`` leaves the creation date out of the manifest, for byte-identical rebuilds;
    ``fp32_dir`` keeps the fp32 export there and reuses it on the next run; ``chunk_bytes`` is the
    size external-data chunks are filled to (1 GiB; small models use less to exercise the layout);
    ``graph_dtypes`` gives graphs of a dtype their own compute dtype, e.g. ``{"q4f16": {"text_llm": "fp32"}}``;
    ``text_len`` is the LLM instruction length in tokens (the reference's 256; a model trained
    with another reads its tokenizer's ``model_max_length``); ``provenance_out`` receives the
    fp32 graphs' weight provenance (template.py; not with ``fp32_dir``); ``colors=False`` leaves
    ``codebook_colors`` at zero instead of decoding every code (templates: their converter
    decodes them from the converted weights); ``card`` writes the model card (README.md, NOTICE;
    ``model_card.write_card``'s options) into the package before it is renamed into place."""
    dtypes = list(dict.fromkeys(dtypes))
    bad = [d for d in dtypes if d not in DTYPES]
    if bad:
        raise ExportError(f"unknown dtype {bad[0]!r} (choose from {', '.join(DTYPES)})")
    graph_dtypes = graph_dtypes or {}
    for d, per in graph_dtypes.items():
        for g, compute in per.items():
            if d not in dtypes or d == "fp32" or g not in GRAPH_IO or compute not in DTYPES:
                raise ExportError(
                    f"cannot give {d}/{g} the compute dtype {compute!r} (a converted dtype of this "
                    f"package, a graph of {', '.join(GRAPH_IO)} and a dtype of {', '.join(DTYPES)})"
                )
    sf = ckpt.vae_scale_factor
    resolution = resolution or (1024 if ckpt.transformer.config.downsample else 512)
    if resolution % sf:
        raise ExportError(f"--resolution {resolution} is not a multiple of the VQ scale factor {sf}")
    token_grid = (resolution // sf, resolution // sf)
    if ckpt.transformer.config.downsample and token_grid[0] % 2:
        raise ExportError(f"--resolution {resolution} gives an odd token grid; the down block needs it even")
    transformer_grid = ckpt.transformer.transformer_grid(*token_grid)
    attention_blocks = ckpt.transformer.attention_block_indices(attention_blocks or default_attention_blocks(ckpt))

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; a web server must read the package
    try:
        scratch = tmp / "fp32" if "fp32" in dtypes else tmp / ".fp32-scratch"
        t0 = time.time()
        if fp32_dir is None:
            fp32 = export_all(
                ckpt,
                scratch,
                token_grid,
                resolution,
                attention_blocks,
                text_len=text_len,
                chunk_bytes=chunk_bytes,
                provenance_out=provenance_out,
            )
        else:  # a kept fp32 export (same checkpoint and options): export only what is missing
            if provenance_out is not None:
                raise ExportError("weight provenance needs a fresh export (no kept fp32 folder)")
            fp32 = reuse_fp32(ckpt, Path(fp32_dir), token_grid, resolution, attention_blocks, chunk_bytes, text_len)
            if "fp32" in dtypes:
                shutil.copytree(fp32_dir, scratch)
                fp32 = {g: scratch / p.name for g, p in fp32.items()}
        log(f"exported fp32 graphs in {time.time() - t0:.1f}s")
        graphs_io = {g: _io(p, g, TRACED_IO) for g, p in fp32.items()}
        for d in dtypes:
            if d == "fp32":
                continue
            t0 = time.time()
            (tmp / d).mkdir()
            for g, p in fp32.items():
                convert_graph(p, graph_dtype(g, d, graph_dtypes.get(d)), tmp / d / f"{g}.onnx", g, chunk_bytes)
                io = _io(tmp / d / f"{g}.onnx", g, TRACED_IO)
                if io != graphs_io[g]:
                    raise ExportError(f"{d}/{g}: inputs/outputs differ from fp32: {io} vs {graphs_io[g]}")
            log(f"converted {d} in {time.time() - t0:.1f}s")
        if "fp32" not in dtypes:
            shutil.rmtree(scratch, ignore_errors=True)
        # Gemma's token table leaves each text_llm graph for a file the engine reads by rows
        token_tables = {d: move_token_table(tmp / d / "text_llm.onnx", chunk_bytes) for d in dtypes}
        graphs_io = {g: _io(tmp / dtypes[0] / f"{g}.onnx", g) for g in GRAPH_IO}
        for d in dtypes[1:]:
            if _io(tmp / d / "text_llm.onnx", "text_llm") != graphs_io["text_llm"]:
                raise ExportError(f"{d}/text_llm: inputs/outputs differ from {dtypes[0]}")
        tokenizers = package_tokenizers(ckpt, tmp, text_len)
        threads = torch.get_num_threads()
        if not dated:  # one thread: float sums in a fixed order, so the colours repeat to the last digit
            torch.set_num_threads(1)
        try:
            if colors:
                palette = codebook_colors(ckpt, token_grid)
            else:
                palette = [[0.0, 0.0, 0.0]] * ckpt.vq.config.num_vq_embeddings
        finally:
            torch.set_num_threads(threads)
        manifest = build_manifest(
            ckpt,
            name,
            source,
            source_revision(ckpt.root),
            dtypes,
            resolution,
            token_grid,
            transformer_grid,
            attention_blocks,
            graphs_io,
            tokenizers,
            palette,
            tmp,
            dated,
            graph_dtypes,
            text_len,
            token_tables,
        )
        validate_manifest(manifest)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        if card is not None:
            from .model_card import write_card

            write_card(tmp, **card)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{int(time.time())}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
