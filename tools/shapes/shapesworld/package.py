"""Convert the trained checkpoint with the exporter's converter into ``public/models/shapes``.

    tools/export/.venv/bin/python -m shapesworld.package [--checkpoint .work/checkpoint] [--out ../../public/models/shapes]

Uses ``editmgt_export.package.write_package`` with this model's Gemma text length (its
tokenizer's ``model_max_length``, 32; the reference's is 256). Graphs identical to the fp32 ones
are shared (``share_identical_graphs``).
Afterwards the manifest gets this model's defaults, negative prompt
("" — the unconditional branch was trained on it), instruction suggestions and its domain (what
it was trained on, with a few example images drawn by the shapes generator into ``examples/``),
and is validated again.

    tools/export/.venv/bin/python -m shapesworld.package --templates ../../templates/shapes [--checkpoint DIR]
    tools/export/.venv/bin/python -m shapesworld.package --finish --out DIR

``--templates`` writes the graph templates and weight maps of this model's config and options
(fp32, q8, q4; 128 px; its text length) for ``npm run convert`` (docs/convert.md); the
checkpoint's weight values do not reach them. They carry what ``finish`` adds (``finish_templates``:
the shared VQ graphs in their manifest, the defaults, suggestions, domain and its example
pictures), so a package that ``npm run convert`` or ``python -m editmgt_export from-templates``
writes from the checkpoint (``python -m shapesworld.recover`` reads it back from the shipped
package) with those templates is the shipped package, apart from the manifest's ``generator``
and ``codebook_colors`` within float32 rounding. ``--finish`` adds the same steps to the
exporter's package (``convert``); on a package converted from the templates it changes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from PIL import Image

from editmgt_export import package as export_package
from editmgt_export.checkpoint import load_checkpoint

from .hub import RECIPE
from .splits import pair_at

HERE = Path(__file__).resolve().parents[1]
REPO = HERE.parents[1]
DEFAULTS_PATH = HERE / "defaults.json"
SUGGESTIONS_PATH = HERE / "suggestions.json"
DOMAIN_PATH = HERE / "domain.json"
# Test-split pairs whose source pictures are the package's examples: a removal, a recolouring,
# a new background and an added shape (edits the model does best first).
EXAMPLE_PAIRS = (1, 3, 5, 0)
DTYPES = ("fp32", "q8", "q4")
RESOLUTION = 128


def convert(checkpoint: Path, out: Path, dtypes=DTYPES, attention_blocks=None) -> dict:
    ckpt = load_checkpoint(checkpoint)
    llm_len = text_len(checkpoint)
    source = json.loads((checkpoint / "model_index.json").read_text()).get("trained_by", RECIPE)
    export_package.write_package(
        ckpt,
        out,
        list(dtypes),
        name="shapes",
        source=source,
        resolution=RESOLUTION,
        attention_blocks=attention_blocks,
        text_len=llm_len,
    )
    return finish(out)


def templates(checkpoint: Path, out: Path, dtypes=DTYPES, log=print) -> None:
    """Templates for this model's config and conversion options (the weights are not used), with
    what ``finish`` adds carried in them, so that a converter alone makes the finished package."""
    from editmgt_export.template import build_templates

    build_templates(checkpoint, list(dtypes), out, resolution=RESOLUTION, text_len=text_len(checkpoint), log=log)
    finish_templates(out)


def finish_templates(out: Path) -> dict:
    """``finish``'s steps, none of which depends on the weights, done once on the templates: a
    dtype's graph whose template, constants and weight map are fp32's (the VQ graphs, which stay
    unquantised) is fp32's in the templates' manifest and its own template files are dropped, so
    the converters write it once; the manifest gets the defaults, suggestions and domain, and the
    domain's example pictures lie in the templates at their package paths, listed in ``files``
    (the converters copy them verbatim, docs/convert.md)."""
    manifest = share_identical_templates(out, json.loads((out / "manifest.json").read_text()))
    manifest = add_domain(out, with_model_fields(manifest))
    export_package.validate_manifest(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def share_identical_templates(out: Path, manifest: dict) -> dict:
    """``share_identical_graphs`` for templates: decided on what makes the graph's bytes (its
    template, constants and weight map, the map's own dtype aside), so for every checkpoint."""
    if "fp32" not in manifest["dtypes"]:
        return manifest
    fp32 = manifest["dtypes"]["fp32"]["graphs"]
    dropped = set()
    for dtype, entry in manifest["dtypes"].items():
        if dtype == "fp32":
            continue
        for graph, g in entry["graphs"].items():
            ref = fp32.get(graph)
            if ref is None or g["file"] == ref["file"] or g["file"] != f"{dtype}/{graph}.onnx":
                continue
            mine = sorted(p.name for p in (out / dtype).glob(f"{graph}.*"))
            if mine != sorted(p.name for p in (out / "fp32").glob(f"{graph}.*")):
                continue
            maps = [json.loads((out / d / f"{graph}.weights.json").read_text()) for d in (dtype, "fp32")]
            if {**maps[0], "dtype": "fp32"} != maps[1]:
                continue
            others = [n for n in mine if not n.endswith(".weights.json")]
            if any((out / dtype / n).read_bytes() != (out / "fp32" / n).read_bytes() for n in others):
                continue
            for n in mine:
                (out / dtype / n).unlink()
            dropped.update([g["file"], *g.get("external_data", []), (g.get("token_table") or {}).get("file")])
            g.clear()
            g.update(ref, dtype="fp32")
    manifest["files"] = [f for f in manifest["files"] if f["path"] not in dropped]
    return manifest


def with_model_fields(manifest: dict) -> dict:
    """This model's defaults, negative prompt and instruction suggestions."""
    manifest["defaults"] = json.loads(DEFAULTS_PATH.read_text())
    manifest["negative_prompt"] = ""
    manifest["suggestions"] = json.loads(SUGGESTIONS_PATH.read_text())
    return manifest


def text_len(checkpoint: Path) -> int:
    return json.loads((checkpoint / "llm_encoder" / "tokenizer_config.json").read_text())["model_max_length"]


def finish(out: Path) -> dict:
    """What this model's package adds to a converted one (the exporter's, or ``npm run convert``'s
    from the same checkpoint and templates/shapes): graphs identical to the fp32 ones shared, this
    model's defaults, negative prompt, suggestions and domain with its examples."""
    manifest = share_identical_graphs(out, json.loads((out / "manifest.json").read_text()))
    manifest = add_domain(out, with_model_fields(manifest))
    export_package.validate_manifest(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def add_domain(out: Path, manifest: dict) -> dict:
    """Give the manifest its ``domain`` (``domain.json``) and example pictures: the source images
    of ``EXAMPLE_PAIRS``, written to ``examples/`` and listed in ``files`` like every other file."""
    (out / "examples").mkdir(exist_ok=True)
    files = [f for f in manifest["files"] if not f["path"].startswith("examples/")]
    examples = []
    for index in EXAMPLE_PAIRS:
        pair = pair_at("test", index)
        path = f"examples/test_{index:05d}.png"
        Image.fromarray(pair.source_image).save(out / path, optimize=True)
        data = (out / path).read_bytes()
        files.append({"path": path, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        examples.append({"path": path, "instruction": pair.instruction})
    manifest["files"] = files
    manifest["domain"] = {**json.loads(DOMAIN_PATH.read_text()), "examples": examples}
    return manifest


def share_identical_graphs(out: Path, manifest: dict) -> dict:
    """Where a dtype's graph and its external-data chunks are byte-identical to the fp32 ones (the
    VQ graphs, which the converter leaves unquantised), point the dtype at the fp32 files and drop
    the copies: the app fetches files by manifest path, so each is downloaded and stored once."""
    if "fp32" not in manifest["dtypes"]:
        return manifest
    by_path = {f["path"]: f for f in manifest["files"]}
    fp32 = manifest["dtypes"]["fp32"]["graphs"]
    for dtype, entry in manifest["dtypes"].items():
        if dtype == "fp32":
            continue
        for graph, g in entry["graphs"].items():
            ref = fp32[graph]
            mine, theirs = [g["file"], *g.get("external_data", [])], [ref["file"], *ref.get("external_data", [])]
            if g["file"] == ref["file"] or len(mine) != len(theirs):
                continue
            # the graph names its chunks by file name, so identical files stay valid beside the fp32 graph
            if all(by_path[a]["sha256"] == by_path[b]["sha256"] for a, b in zip(mine, theirs)):
                for p in mine:
                    (out / p).unlink()
                    del by_path[p]
                g.clear()
                g.update(ref, dtype="fp32")
    manifest["files"] = [f for f in manifest["files"] if f["path"] in by_path]
    return manifest


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=HERE / ".work" / "checkpoint")
    ap.add_argument("--out", type=Path, default=REPO / "public" / "models" / "shapes")
    ap.add_argument("--dtype", default="fp32,q8,q4")
    ap.add_argument("--attention-blocks", default="")
    ap.add_argument("--templates", type=Path, help="write the templates for this config here instead of the package")
    ap.add_argument(
        "--finish",
        action="store_true",
        help="only add this model's sharing, defaults, suggestions and domain to the converted package at --out",
    )
    ap.add_argument(
        "--domain-only",
        action="store_true",
        help="only (re)write the domain and its examples into the package at --out",
    )
    a = ap.parse_args(argv)
    if a.domain_only:
        manifest = add_domain(a.out, json.loads((a.out / "manifest.json").read_text()))
        export_package.validate_manifest(manifest)
        (a.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"wrote the domain and {len(manifest['domain']['examples'])} examples into {a.out}")
        return
    if a.templates:
        templates(a.checkpoint, a.templates, a.dtype.split(","))
        print(f"wrote {a.templates}")
        return
    if a.finish:
        m = finish(a.out)
        print(f"finished {a.out} ({sum(f['bytes'] for f in m['files']) / 1e6:.1f} MB)")
        return
    blocks = [int(b) for b in a.attention_blocks.split(",")] if a.attention_blocks else None
    m = convert(a.checkpoint, a.out, a.dtype.split(","), blocks)
    size = sum(f["bytes"] for f in m["files"])
    print(f"wrote {a.out} ({size / 1e6:.1f} MB, attention blocks {m['config']['attention_blocks']})")


if __name__ == "__main__":
    main()
