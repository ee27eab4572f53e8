"""The weight maps reproduce the shipped package: templates of the tiny config plus the tiny
checkpoint's tensors, through weightmap.py (numpy only), give every byte of every graph file of
public/models/tiny-random in every dtype (graphs, external-data chunks, token tables)."""

import copy
import json
import shutil
from pathlib import Path

import pytest

from editmgt_export.dtypes import DTYPES

REPO = Path(__file__).resolve().parents[3]
TINY = REPO / "public" / "models" / "tiny-random"
SCHEMA = REPO / "src" / "engine" / "convert" / "weightmap.schema.json"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from editmgt_export.template import build_templates
    from editmgt_export.tiny import TINY_CHUNK_BYTES, TINY_RESOLUTION, build_tiny_checkpoint

    root = tmp_path_factory.mktemp("weightmap")
    seed = json.loads((TINY / "manifest.json").read_text())["source"]["id"].split("--seed")[-1]
    ckpt = build_tiny_checkpoint(root / "ckpt", seed=int(seed))
    build_templates(
        ckpt, DTYPES, root / "templates", resolution=TINY_RESOLUTION, chunk_bytes=TINY_CHUNK_BYTES, log=lambda _: None
    )
    yield ckpt, root / "templates", root
    shutil.rmtree(root, ignore_errors=True)


def graph_files(manifest: dict, dtype: str) -> list[str]:
    out = []
    for g in manifest["dtypes"][dtype]["graphs"].values():
        out += [g["file"], *g.get("external_data", [])]
        if "token_table" in g:
            out.append(g["token_table"]["file"])
    return out


def differing(package: Path, written: Path, files: list[str]) -> list[str]:
    return [f for f in files if not (written / f).exists() or (written / f).read_bytes() != (package / f).read_bytes()]


def test_maps_reproduce_every_byte_of_the_tiny_package(built, monkeypatch):
    from editmgt_export import weightmap
    from editmgt_export.weightmap import apply_templates

    # blocks of a row or two, so every streamed path writes a tensor in several pieces
    monkeypatch.setattr(weightmap, "ROW_BLOCK_BYTES", 256)
    ckpt, templates, root = built
    out = root / "applied"
    written = apply_templates(ckpt, templates, out)
    manifest = json.loads((TINY / "manifest.json").read_text())
    assert sorted(manifest["dtypes"]) == sorted(DTYPES)
    files = [f for d in DTYPES for f in graph_files(manifest, d)]
    assert sorted(p.relative_to(out).as_posix() for p in written) == sorted(files)
    assert differing(TINY, out, files) == []


def test_maps_follow_their_schema(built):
    import jsonschema

    _, templates, _ = built
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    maps = sorted(templates.glob("*/*.weights.json"))
    assert len(maps) == 5 * len(DTYPES)
    for path in maps:
        weight_map = json.loads(path.read_text())
        validator.validate(weight_map)
        # places never overlap, and each fits its file
        sizes = {f["file"]: f["bytes"] for f in weight_map["files"]}
        sizes[weight_map["template"]] = (path.parent / weight_map["template"]).stat().st_size
        spans = sorted((e["place"]["file"], e["place"]["offset"], e["place"]["length"]) for e in weight_map["entries"])
        for (f1, o1, n1), (f2, o2, _) in zip(spans, spans[1:]):
            assert f1 != f2 or o1 + n1 <= o2, f"{path.name}: overlapping places in {f1}"
        assert all(o + n <= sizes[f] for f, o, n in spans)


def test_a_missing_transform_is_caught(built):
    """Drop one transform from one entry: the applied files no longer match the package."""
    from editmgt_export.weightmap import apply_templates

    ckpt, templates, root = built
    broken = root / "broken"
    shutil.copytree(templates, broken)
    path = broken / "fp32" / "transformer_step.weights.json"
    weight_map = json.loads(path.read_text())
    before = copy.deepcopy(weight_map)
    entry = next(e for e in weight_map["entries"] if e.get("transforms"))
    entry["transforms"] = entry["transforms"][:-1]
    path.write_text(json.dumps(weight_map))
    assert weight_map != before
    out = root / "broken-applied"
    try:
        apply_templates(ckpt, broken, out, dtypes=["fp32"])
    except Exception as e:  # a shape the template cannot hold is caught by the applier itself
        assert entry["name"] in str(e)
    else:
        manifest = json.loads((TINY / "manifest.json").read_text())
        assert differing(TINY, out, graph_files(manifest, "fp32")) != []


@pytest.mark.parametrize("damage", ["missing", "shape", "truncated"])
def test_a_damaged_checkpoint_is_refused_naming_the_tensor(built, damage):
    from safetensors.numpy import load_file, save_file

    from editmgt_export.errors import ExportError
    from editmgt_export.weightmap import apply_templates

    ckpt, templates, root = built
    bad = root / f"ckpt-{damage}"
    shutil.rmtree(bad, ignore_errors=True)
    shutil.copytree(ckpt, bad)
    path = bad / "text_encoder" / "model.safetensors"
    name = "text_model.final_layer_norm.weight"
    if damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 64])
    else:
        tensors = load_file(str(path))
        if damage == "missing":
            del tensors[name]
        else:
            tensors[name] = tensors[name][:-1].copy()
        save_file(tensors, str(path))
    with pytest.raises(ExportError) as e:
        apply_templates(bad, templates, root / f"out-{damage}", dtypes=["fp32"])
    message = str(e.value)
    if damage == "truncated":  # the first tensor that lies past the end
        assert message.startswith("text_encoder/model.safetensors: tensor '") and "truncated" in message
    elif damage == "missing":
        assert f"no tensor '{name}'" in message and "text_encoder" in message
    else:
        assert name in message and "shape" in message
