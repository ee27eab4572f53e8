"""The shapes checkpoint, read back from the shipped package (``shapesworld.recover``), and the
shipped templates (templates/shapes) give the shipped package again through the numpy weight-map
applier (editmgt_export.weightmap): every graph, external-data chunk and token table of every
dtype, byte for byte. (The TypeScript converter's side, the whole package and its manifest:
src/engine/runtime/node/convert/shapesPackage.test.ts.)"""

import json
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]
REPO = HERE.parents[1]
PACKAGE = REPO / "public" / "models" / "shapes"
TEMPLATES = REPO / "templates" / "shapes"


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    from shapesworld.recover import recover

    root = tmp_path_factory.mktemp("shapes-recover")
    report = recover(root / "checkpoint", PACKAGE, TEMPLATES, log=lambda _: None)
    yield root / "checkpoint", report, root
    shutil.rmtree(root, ignore_errors=True)


def shipped_path(manifest: dict, path: str) -> str:
    """Where the shipped package keeps a converted file: q8's and q4's VQ graphs (computed in
    fp32, identical to fp32's) are the fp32 files (``package.share_identical_graphs``)."""
    dtype, name = path.split("/", 1)
    graph = manifest["dtypes"].get(dtype, {}).get("graphs", {}).get(name.split(".")[0])
    if graph and graph["file"].startswith("fp32/") and dtype != "fp32":
        return f"fp32/{name}"
    return path


def test_the_recovered_checkpoint_has_the_trained_ones_layout(recovered):
    """Its configs, tokenizers and tensor files are the trained checkpoint's: the exporter's
    content hash of the folder (JSON files, and each safetensors file's size) is the revision
    the shipped manifest names."""
    from editmgt_export.package import source_revision

    ckpt, report, _ = recovered
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    assert source_revision(ckpt) == manifest["source"]["revision"]
    assert json.loads((ckpt / "model_index.json").read_text())["trained_by"] == manifest["source"]["id"]
    # what no graph reads: Gemma's last layer and its final norm (the sequence is the layer before)
    assert all(z.startswith(("llm_encoder/model.layers.2.", "llm_encoder/model.norm.")) for z in report["zeros"])
    assert len(report["zeros"]) == 12 and report["read"] == 408


def test_maps_reproduce_every_byte_of_the_shapes_package(recovered, monkeypatch):
    from editmgt_export import weightmap
    from editmgt_export.weightmap import apply_templates

    # blocks of a row or two, so every streamed path writes a tensor in several pieces
    monkeypatch.setattr(weightmap, "ROW_BLOCK_BYTES", 256)
    ckpt, _, root = recovered
    out = root / "applied"
    written = apply_templates(ckpt, TEMPLATES, out)
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    assert sorted(json.loads((TEMPLATES / "manifest.json").read_text())["dtypes"]) == sorted(manifest["dtypes"])
    paths = sorted(p.relative_to(out).as_posix() for p in written)
    # every graph file of the package (a graph the templates' manifest shares is fp32's: written once)
    listed = {f["path"] for f in manifest["files"]}
    assert {shipped_path(manifest, p) for p in paths} == {
        p for p in listed if p.split("/")[0] in manifest["dtypes"] and not p.startswith("tokenizer")
    }
    differing = [p for p in paths if (out / p).read_bytes() != (PACKAGE / shipped_path(manifest, p)).read_bytes()]
    assert differing == []


def test_a_changed_weight_is_caught(recovered):
    """One value of one checkpoint tensor changed: the applied graph no longer matches."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    from editmgt_export.weightmap import apply_templates

    ckpt, _, root = recovered
    bad = root / "changed"
    shutil.copytree(ckpt, bad)
    path = bad / "editmgt" / "diffusion_pytorch_model.safetensors"
    tensors = load_file(str(path))
    name = "transformer_blocks.0.attn.to_q.weight"
    tensors[name] = tensors[name].copy()
    tensors[name].flat[7] = np.nextafter(tensors[name].flat[7], np.float32(np.inf))
    save_file(tensors, str(path), metadata={"format": "pt"})
    out = root / "changed-applied"
    apply_templates(bad, TEMPLATES, out, dtypes=["fp32"])
    assert (out / "fp32" / "transformer_step.onnx.data").read_bytes() != (
        PACKAGE / "fp32" / "transformer_step.onnx.data"
    ).read_bytes()


def test_a_package_whose_graph_does_not_match_its_maps_is_refused(tmp_path):
    """A chunk file cut short is refused, naming the file, and no checkpoint is written."""
    from shapesworld.recover import RecoverError, recover

    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    data = package / "fp32" / "text_clip.onnx.data"
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(RecoverError, match=r"fp32/text_clip\.onnx\.data: entry .* lies past the end"):
        recover(tmp_path / "checkpoint", package, TEMPLATES, log=lambda _: None)
    assert not (tmp_path / "checkpoint").exists()
