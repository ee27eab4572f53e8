"""Every hub layout of one checkpoint reads, and converts, as the plain single-file layout.

The fixtures are the tiny random checkpoint re-saved by ``editmgt_export.layouts`` (sharded
with an index, fp16 variant files beside the fp32 ones, bf16, fp16 variants only, the base
Gemma2Model's names, a ``.bin``-only subfolder, a CLIP tokenizer of vocab.json + merges.txt).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from editmgt_export.__main__ import main
from editmgt_export.checkpoint import load_checkpoint, read_tensors, select_weights, tensor_files
from editmgt_export.errors import ExportError
from editmgt_export.layouts import LAYOUTS, WEIGHT_FOLDERS, round_to_half, write_layouts
from editmgt_export.package import package_tokenizers

# layouts holding the tiny checkpoint's own float32 values, and those holding the rounded ones
SAME_AS_SINGLE = ("sharded", "variant", "tied", "vocab-merges")
SAME_AS_ROUNDED = ("bf16", "variant-only")


@pytest.fixture(scope="module")
def work():
    folder = Path(tempfile.mkdtemp(prefix="editmgt-layouts-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def layouts(work):
    return write_layouts(work / "layouts", seed=0)


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _tensors(root: Path, sub: str) -> dict[str, torch.Tensor]:
    tensors = read_tensors(root / sub)
    if sub == "llm_encoder" and not any(k.startswith("model.") for k in tensors):
        tensors = {f"model.{k}": v for k, v in tensors.items()}  # the base Gemma2Model's names
    return tensors


def test_layouts_are_deterministic(layouts, work):
    again = write_layouts(work / "again", seed=0)
    for name in LAYOUTS:
        assert _digests(again[name]) == _digests(layouts[name]), name
    shutil.rmtree(work / "again")


def test_layout_files_follow_the_hub_names(layouts):
    names = {p.relative_to(layouts["variant"]).as_posix() for p in layouts["variant"].rglob("*.*")}
    for expected in (
        "text_encoder/model.safetensors",
        "text_encoder/model.fp16.safetensors",
        "vqvae/diffusion_pytorch_model.fp16.safetensors",
        "llm_encoder/model.safetensors.index.json",
        "llm_encoder/model.safetensors.index.fp16.json",
        "llm_encoder/model.fp16-00001-of-00003.safetensors",
        "editmgt/diffusion_pytorch_model-00001-of-00004.safetensors",
        "editmgt/diffusion_pytorch_model.safetensors.index.fp16.json",
    ):
        assert expected in names, expected
    for sub in WEIGHT_FOLDERS:
        shards = list((layouts["sharded"] / sub).glob("*-of-*.safetensors"))
        assert len(shards) >= 2, sub
        assert len(list((layouts["sharded"] / sub).glob("*.safetensors.index.json"))) == 1, sub
    tok = layouts["vocab-merges"] / "tokenizer"
    assert sorted(p.name for p in tok.iterdir()) == [
        "merges.txt",
        "special_tokens_map.json",
        "tokenizer_config.json",
        "vocab.json",
    ]
    assert sorted(p.name for p in (layouts["bin-only"] / "text_encoder").iterdir()) == [
        "config.json",
        "pytorch_model.bin",
    ]


@pytest.mark.parametrize("layout", SAME_AS_SINGLE + SAME_AS_ROUNDED)
def test_reader_gives_the_single_layout_tensors(layouts, layout):
    reference = layouts["rounded" if layout in SAME_AS_ROUNDED else "single"]
    for sub in WEIGHT_FOLDERS:
        got, want = _tensors(layouts[layout], sub), _tensors(reference, sub)
        assert sorted(got) == sorted(want), (layout, sub)
        for name, tensor in want.items():
            assert got[name].dtype == torch.float32, (layout, sub, name)
            assert torch.equal(got[name], tensor), (layout, sub, name)


def test_bf16_and_fp16_values_are_read_exactly(layouts):
    single = _tensors(layouts["single"], "editmgt")
    rounded = _tensors(layouts["rounded"], "editmgt")
    moved = [n for n in single if not torch.equal(single[n], rounded[n])]
    assert moved, "the rounded weights should differ from the float32 ones"
    for name in single:
        assert torch.equal(round_to_half(single[name]), rounded[name]), name
    # every value survives both half types, so bf16 → fp32 and fp16 → fp32 give them back
    for tensor in rounded.values():
        assert torch.equal(tensor.to(torch.bfloat16).float(), tensor)
        assert torch.equal(tensor.half().float(), tensor)


def test_variant_rule(layouts, work):
    chosen = select_weights(layouts["variant"] / "editmgt")
    assert chosen.variant is None and all(".fp16" not in f.name for f in chosen.files)
    assert chosen.index.name == "diffusion_pytorch_model.safetensors.index.json"
    where = tensor_files(layouts["variant"] / "editmgt")
    assert sorted(where) == sorted(read_tensors(layouts["single"] / "editmgt"))
    assert all(".fp16" not in f.name and "-of-" in f.name for f in where.values())
    single = select_weights(layouts["variant"] / "text_encoder")
    assert [f.name for f in single.files] == ["model.safetensors"]
    only = select_weights(layouts["variant-only"] / "editmgt")
    assert only.variant == "fp16" and only.index.name == "diffusion_pytorch_model.safetensors.index.fp16.json"

    # two variants and no default files: ambiguous, refused
    two = work / "two-variants"
    shutil.copytree(layouts["variant-only"] / "vqvae", two)
    shutil.copy(two / "diffusion_pytorch_model.fp16.safetensors", two / "diffusion_pytorch_model.bf16.safetensors")
    with pytest.raises(ExportError, match="only the variants bf16, fp16"):
        read_tensors(two)
    shutil.rmtree(two)


def test_shards_and_index_are_checked(layouts, work):
    folder = work / "broken-shards"
    shutil.copytree(layouts["sharded"] / "vqvae", folder)
    index = folder / "diffusion_pytorch_model.safetensors.index.json"
    data = json.loads(index.read_text())

    # the index decides: a stale extra file beside the shards is not read
    shutil.copy(
        folder / "diffusion_pytorch_model-00001-of-00004.safetensors", folder / "diffusion_pytorch_model.safetensors"
    )
    assert sorted(read_tensors(folder)) == sorted(data["weight_map"])
    (folder / "diffusion_pytorch_model.safetensors").unlink()

    # a tensor the index places in a shard that lacks it
    name = next(n for n, f in data["weight_map"].items() if f.endswith("00001-of-00004.safetensors"))
    data["weight_map"][name] = "diffusion_pytorch_model-00002-of-00004.safetensors"
    index.write_text(json.dumps(data))
    with pytest.raises(ExportError, match=f"puts tensor '{name}' in diffusion_pytorch_model-00002-of-00004"):
        read_tensors(folder)

    # without the index, every shard must be there
    index.unlink()
    (folder / "diffusion_pytorch_model-00003-of-00004.safetensors").unlink()
    with pytest.raises(ExportError, match="shard 3 of 4 is missing"):
        read_tensors(folder)
    shutil.rmtree(folder)


def test_bin_only_is_refused_and_never_unpickled(layouts, work, capsys):
    with pytest.raises(ExportError) as e:
        read_tensors(layouts["bin-only"] / "text_encoder")
    assert str(layouts["bin-only"] / "text_encoder") in str(e.value)
    assert "pytorch_model.bin" in str(e.value) and "not read" in str(e.value)

    # a pickle that would leave a mark if anything unpickled it
    canary = work / "canary"
    shutil.copytree(layouts["bin-only"], canary)
    mark = work / "unpickled"

    class Mark:
        def __reduce__(self):
            return (Path.touch, (mark,))

    (canary / "text_encoder" / "pytorch_model.bin").write_bytes(pickle.dumps(Mark()))
    with pytest.raises(ExportError, match="only pickle weights"):
        load_checkpoint(canary)
    out = work / "canary-package"
    assert main(["convert", "--source", str(canary), "--dtype", "fp32", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{canary / 'text_encoder'} has only pickle weights (pytorch_model.bin)" in err
    assert not mark.exists() and not out.exists()
    shutil.rmtree(canary)


def test_vocab_merges_tokenizer_is_the_tokenizer_json(layouts, work):
    from types import SimpleNamespace

    packages = {}
    for name in ("single", "vocab-merges"):
        out = work / f"tokenizers-{name}"
        info = package_tokenizers(SimpleNamespace(root=layouts[name]), out)
        packages[name] = (out, info)
    (a, info_a), (b, info_b) = packages["single"], packages["vocab-merges"]
    assert info_a == info_b
    for rel in (
        "tokenizer_clip/tokenizer.json",
        "tokenizer_llm/tokenizer.json",
        "tokenizer_clip/special_tokens_map.json",
    ):
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    # tokenizer_config.json is copied from the source, which names its own class
    config_a = json.loads((a / "tokenizer_clip" / "tokenizer_config.json").read_text())
    config_b = json.loads((b / "tokenizer_clip" / "tokenizer_config.json").read_text())
    assert config_b.pop("tokenizer_class") == "CLIPTokenizer"
    assert config_a.pop("tokenizer_class") == "PreTrainedTokenizerFast"
    assert config_a == config_b
    for out, _ in packages.values():
        shutil.rmtree(out)


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return module.state_dict()


def _config(module: torch.nn.Module) -> dict:
    config = module.config.to_dict() if hasattr(module.config, "to_dict") else dict(module.config)
    config.pop("_name_or_path", None)  # the folder it was read from
    return config


@pytest.mark.parametrize("layout", SAME_AS_SINGLE + SAME_AS_ROUNDED)
def test_checkpoint_loads_as_the_reference(layouts, layout):
    """What the package is made from (the four modules, their configs, the scheduler config) is
    the same for every layout: the exporter is deterministic in these, so equal inputs give equal
    packages; the conversions below check that end to end."""
    reference = layouts["rounded" if layout in SAME_AS_ROUNDED else "single"]
    got, want = load_checkpoint(layouts[layout]), load_checkpoint(reference)
    assert got.scheduler_config == want.scheduler_config
    assert got.transformer_subfolder == want.transformer_subfolder
    for part in ("clip", "llm", "vq", "transformer"):
        a, b = getattr(got, part), getattr(want, part)
        ca, cb = (_config(m) for m in (a, b))
        if part == "llm":  # the tied layout's config.json names the base model's class
            ca.pop("architectures", None), cb.pop("architectures", None)
        assert ca == cb, part
        sa, sb = _state(a), _state(b)
        assert sorted(sa) == sorted(sb), part
        for name in sb:
            assert sa[name].dtype == sb[name].dtype and torch.equal(sa[name], sb[name]), (layout, part, name)


# fields of the manifest that name the source: its id (the --source argument) and its revision
# (a hash of the folder's file names, JSON files and weight-file sizes); plus the date stamp
def _package(folder: Path) -> tuple[dict[str, str], dict]:
    files = _digests(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    files.pop("manifest.json")
    manifest.pop("source")
    manifest["generator"].pop("created", None)
    return files, manifest


@pytest.fixture(scope="module")
def convert(work):
    made: dict[Path, Path] = {}

    def run(source: Path) -> Path:
        if source not in made:
            out = work / "packages" / source.name
            args = ["convert", "--source", str(source), "--dtype", "fp32", "--resolution", "64", "--no-card"]
            assert main([*args, "--name", "layouts", "--out", str(out)]) == 0
            made[source] = out
        return made[source]

    return run


def _assert_same_package(got: Path, want: Path, skip: tuple[str, ...] = ()) -> None:
    files_got, manifest_got = _package(got)
    files_want, manifest_want = _package(want)
    for rel in skip:
        files_got.pop(rel), files_want.pop(rel)
        for m in (manifest_got, manifest_want):
            m["files"] = [f for f in m["files"] if f["path"] != rel]
    assert sorted(files_got) == sorted(files_want)
    differ = [rel for rel in files_want if files_got[rel] != files_want[rel]]
    assert not differ, f"files that differ: {differ}"
    assert manifest_got == manifest_want


@pytest.mark.parametrize("layout", ["variant", "tied"])
def test_layout_converts_to_the_single_package(layouts, convert, layout):
    """fp16 variant files beside the fp32 ones (sharded with their index, as diffusers and
    transformers save ``variant="fp16"``), and a Gemma saved without its ``model.`` prefix or
    lm_head, change nothing in the package."""
    _assert_same_package(convert(layouts[layout]), convert(layouts["single"]))


FULL = pytest.mark.skipif(
    __import__("os").environ.get("EDITMGT_LAYOUT_PACKAGES") != "1",
    reason="one conversion per layout (minutes): set EDITMGT_LAYOUT_PACKAGES=1",
)


@FULL
@pytest.mark.parametrize("layout", [x for x in SAME_AS_SINGLE if x not in ("variant", "tied")] + list(SAME_AS_ROUNDED))
def test_every_layout_converts_to_the_reference_package(layouts, convert, layout):
    reference = layouts["rounded" if layout in SAME_AS_ROUNDED else "single"]
    # vocab-merges: the package's tokenizer_config.json is the source's, which names CLIPTokenizer
    skip = ("tokenizer_clip/tokenizer_config.json",) if layout == "vocab-merges" else ()
    _assert_same_package(convert(layouts[layout]), convert(reference), skip)
