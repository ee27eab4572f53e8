"""The shapes checkpoint, read back from the shipped package (no training, no GPU).

    tools/export/.venv/bin/python -m shapesworld.recover [--out .work/checkpoint]
        [--package ../../public/models/shapes] [--templates ../../templates/shapes]

The trained checkpoint (``.work/checkpoint``) is not kept in the repository; its weights are.
Every initializer of the package's fp32 graphs is one checkpoint tensor after the transforms its
weight map names (``templates/shapes/fp32/*.weights.json``): transpose, reshape, gather and slice
only move values, so running a map's transforms on the tensor's element *indices* says where each
stored value came from, and scattering the values back gives the tensor, bit for bit. A tensor
that several graphs read (the VQ codebook) must agree in every one of them.

Tensors that no graph reads are written as zeros: Gemma's last layer and final norm (the text
sequence is its second-to-last hidden state). No package holds their trained values, and no
package depends on them.

The rest is what ``hub.write_checkpoint`` writes for a trained model: the configs (from the
package's tokenizers), the tokenizers themselves (the package's, which are the checkpoint's files
unchanged), ``model_index.json`` naming the training command (the manifest's ``source.id``). So
the folder's content hash (``package.source_revision``) is the manifest's ``source.revision``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
REPO = HERE.parents[1]
PACKAGE = REPO / "public" / "models" / "shapes"
TEMPLATES = REPO / "templates" / "shapes"
GRAPHS = ("text_clip", "text_llm", "vq_encode", "vq_decode", "transformer_step")
# checkpoint subfolder -> the state dict it holds (hub.write_checkpoint's keyword)
SUBFOLDERS = {"editmgt": "transformer", "text_encoder": "clip", "llm_encoder": "llm", "vqvae": "vqvae"}


class RecoverError(Exception):
    pass


def _transformed_indices(shape: tuple[int, ...], transforms: list[dict]) -> np.ndarray:
    from editmgt_export.weightmap import apply_transform

    index = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    for t in transforms:
        index = apply_transform(index, t)
    return index


def _stored_values(package: Path, dtype: str, graph: str, entry: dict) -> np.ndarray:
    """The float32 values an fp32 map entry placed, read from the package's file at its place."""
    enc = entry["encoding"]
    if not (enc["type"] == "float32" or (enc["type"] == "token_rows" and enc.get("format") == "float32")):
        raise RecoverError(f"{dtype}/{graph}: entry {entry['name']} is stored as {enc}, not float32")
    place = entry["place"]
    path = package / dtype / place["file"]
    if place["offset"] is None:
        raise RecoverError(f"{dtype}/{graph}: entry {entry['name']} has no place in {place['file']}")
    with open(path, "rb") as f:
        f.seek(place["offset"])
        data = f.read(place["length"])
    if len(data) != place["length"]:
        raise RecoverError(f"{path}: entry {entry['name']} lies past the end of the file")
    return np.frombuffer(data, dtype="<f4").reshape(entry["shape"])


def map_entries(templates: Path, graph: str) -> list[dict]:
    """The fp32 map's entries of ``graph`` that hold a checkpoint tensor (one source each)."""
    weight_map = json.loads((templates / "fp32" / f"{graph}.weights.json").read_text())
    out = []
    for e in weight_map["entries"]:
        if "sources" not in e:
            continue  # a constant of the config
        if len(e["sources"]) != 1:
            raise RecoverError(f"fp32/{graph}: entry {e['name']} has {len(e['sources'])} sources")
        out.append(e)
    return out


def scatter(pairs, shapes: dict[str, dict[str, tuple[int, ...]]]) -> dict:
    """{subfolder: {tensor: float32 array}} from (graph, map entry, stored values) triples: each
    entry's values put back where its transforms took them from. A tensor that several entries
    hold must agree in all of them, and every one of its values must be held."""
    values: dict[str, dict[str, np.ndarray]] = {s: {} for s in shapes}
    filled: dict[str, dict[str, np.ndarray]] = {s: {} for s in shapes}
    for graph, e, stored in pairs:
        src = e["sources"][0]
        sub, name = src["subfolder"], src["tensor"]
        if name not in shapes.get(sub, {}):
            raise RecoverError(f"fp32/{graph}: entry {e['name']} reads {sub}/{name}, which the model does not have")
        shape = shapes[sub][name]
        index = _transformed_indices(shape, e.get("transforms", []))
        if index.shape != stored.shape:
            raise RecoverError(f"fp32/{graph}: entry {e['name']} holds {stored.shape}, its map gives {index.shape}")
        if name not in values[sub]:
            values[sub][name] = np.zeros(int(np.prod(shape, dtype=np.int64)), np.float32)
            filled[sub][name] = np.zeros(values[sub][name].size, bool)
        flat, seen = values[sub][name], filled[sub][name]
        index, stored = index.reshape(-1), np.asarray(stored, np.float32).reshape(-1)
        again = seen[index]
        if again.any() and not np.array_equal(flat[index][again].view("<u4"), stored[again].view("<u4")):
            raise RecoverError(f"{sub}/{name}: the graphs that read it hold different values")
        flat[index] = stored
        seen[index] = True
    out = {}
    for sub, tensors in values.items():
        out[sub] = {}
        for name, flat in tensors.items():
            missing = int((~filled[sub][name]).sum())
            if missing:
                raise RecoverError(f"{sub}/{name}: {missing} of its {flat.size} values are in no graph")
            out[sub][name] = flat.reshape(shapes[sub][name])
    return out


def read_tensors(package: Path, templates: Path, shapes: dict[str, dict[str, tuple[int, ...]]]) -> dict:
    """{subfolder: {tensor: float32 array}} for every tensor an fp32 graph of ``package`` reads
    (``shapes``: the checkpoint's tensor shapes, by subfolder)."""
    manifest = json.loads((package / "manifest.json").read_text())
    pairs = []
    for graph in GRAPHS:
        entry = manifest["dtypes"]["fp32"]["graphs"][graph]
        if entry["file"] != f"fp32/{graph}.onnx":
            raise RecoverError(f"{package}/manifest.json: fp32 {graph} is {entry['file']}")
        for e in map_entries(templates, graph):
            pairs.append((graph, e, _stored_values(package, "fp32", graph, e)))
    return scatter(pairs, shapes)


def recover(out: Path, package: Path = PACKAGE, templates: Path = TEMPLATES, log=print, reader=read_tensors) -> dict:
    """Write the checkpoint into ``out``; returns {"read": n, "zeros": [subfolder/tensor, …]}.
    ``reader(package, templates, shapes)`` gives the tensors (``read_tensors``: a package in the
    templates' graph layout)."""
    import torch
    from tokenizers import Tokenizer

    from editmgt_export.transformer import EditMGTTransformer

    from . import hub, mgt, text, vq

    package, templates, out = Path(package), Path(templates), Path(out)
    manifest = json.loads((package / "manifest.json").read_text())
    with tempfile.TemporaryDirectory(prefix="shapes-tokenizers-") as tmp:
        toks = Path(tmp)
        shutil.copytree(package / "tokenizer_clip", toks / "clip")
        shutil.copytree(package / "tokenizer_llm", toks / "llm")
        clip_tok = Tokenizer.from_file(str(toks / "clip" / "tokenizer.json"))
        llm_tok = Tokenizer.from_file(str(toks / "llm" / "tokenizer.json"))
        # the modules give every tensor's name and shape (their initial values are not used)
        encoders = text.TextEncoders(clip_tok, llm_tok)
        states = {
            "transformer": EditMGTTransformer(**mgt.TRANSFORMER_CONFIG).state_dict(),
            "clip": encoders.clip.state_dict(),
            "llm": encoders.llm.state_dict(),
            "vqvae": vq.build_vq().state_dict(),
        }
        shapes = {sub: {k: tuple(v.shape) for k, v in states[key].items()} for sub, key in SUBFOLDERS.items()}
        read = reader(package, templates, shapes)
        zeros, count = [], 0
        for sub, key in SUBFOLDERS.items():
            for name, t in states[key].items():
                if name in read[sub]:
                    states[key][name] = torch.from_numpy(read[sub][name].copy())
                    count += 1
                else:
                    states[key][name] = torch.zeros_like(t)
                    zeros.append(f"{sub}/{name}")
        # hub.write_checkpoint leaves out what the checkpoint never holds (CLIP's position ids, Gemma's tied head)
        zeros = [
            z
            for z in zeros
            if z not in ("text_encoder/text_model.embeddings.position_ids", "llm_encoder/lm_head.weight")
        ]
        hub.write_checkpoint(
            out,
            **states,
            clip_cfg=encoders.clip_cfg,
            llm_cfg=encoders.llm_cfg,
            tokenizers=toks,
            trained_by=manifest["source"]["id"],
        )
    log(f"wrote {out}: {count} tensors read from {package}, {len(zeros)} that no graph reads as zeros")
    return {"read": count, "zeros": zeros}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / ".work" / "checkpoint")
    ap.add_argument("--package", type=Path, default=PACKAGE)
    ap.add_argument("--templates", type=Path, default=TEMPLATES)
    a = ap.parse_args(argv)
    try:
        recover(a.out, a.package, a.templates)
    except RecoverError as e:
        raise SystemExit(f"recover: {e}") from None


if __name__ == "__main__":
    main()
