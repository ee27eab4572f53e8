"""The shapes-world generator is deterministic, its splits are disjoint, and its masks are exact."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shapesworld.edits import KINDS, caption
from shapesworld.splits import pair_at, write_split

TESTSET = Path(__file__).resolve().parents[1] / "testset"


def _digest(p) -> str:
    h = hashlib.sha256()
    for a in (p.source_image, p.target_image, p.mask.astype(np.uint8)):
        h.update(a.tobytes())
    h.update(p.instruction.encode())
    return h.hexdigest()


def test_same_seed_same_pair():
    for i in range(14):
        assert _digest(pair_at("train", i)) == _digest(pair_at("train", i))


def test_committed_testset_is_reproduced_bit_exactly():
    index = json.loads((TESTSET / "index.json").read_text())
    assert index["split"] == "test" and index["count"] == len(index["pairs"]) == 14
    for entry in index["pairs"]:
        p = pair_at("test", int(entry["id"].split("_")[1]))
        assert entry["kind"] == p.kind and entry["instruction"] == p.instruction
        assert np.array_equal(np.asarray(Image.open(TESTSET / entry["source"])), p.source_image)
        assert np.array_equal(np.asarray(Image.open(TESTSET / entry["target"])), p.target_image)
        assert np.array_equal(np.asarray(Image.open(TESTSET / entry["mask"])) > 0, p.mask)


def test_testset_has_two_pairs_per_kind():
    kinds = [e["kind"] for e in json.loads((TESTSET / "index.json").read_text())["pairs"]]
    assert sorted(kinds) == sorted(list(KINDS) * 2)


def test_splits_do_not_share_pairs():
    seen = {}
    for split in ("train", "val", "test"):
        for i in range(21):
            d = _digest(pair_at(split, i))
            assert d not in seen, f"{split}[{i}] equals {seen[d]}"
            seen[d] = f"{split}[{i}]"


@pytest.mark.parametrize("index", range(28))
def test_pair_is_a_real_edit_confined_to_its_mask(index):
    p = pair_at("val", index)
    assert p.kind == KINDS[index % len(KINDS)]
    assert p.source_image.shape == p.target_image.shape == (128, 128, 3)
    changed = np.any(p.source_image != p.target_image, axis=2)
    assert changed.any(), "the edit changes something"
    assert not changed[~p.mask].any(), "outside the edit region source and target are identical"
    assert p.mask.any() and p.instruction and caption(p.target)
    if p.kind in ("add", "remove", "replace", "attribute", "size_position"):
        assert p.mask.mean() < 0.5, "object edits are local"
    if p.kind == "style":
        assert p.mask.all()


def test_write_split_layout(tmp_path):
    write_split(tmp_path, "test", 3)
    index = json.loads((tmp_path / "index.json").read_text())
    assert [e["id"] for e in index["pairs"]] == ["test_00000", "test_00001", "test_00002"]
    for e in index["pairs"]:
        for key in ("source", "target", "mask"):
            assert (tmp_path / e[key]).is_file()
        assert set(e) >= {"kind", "instruction", "source", "target", "mask"}


def test_training_arrays_do_not_depend_on_how_many_processes_made_them(tmp_path):
    """The GPU profile generates pairs in several processes; the arrays must equal a single
    process's (and the generator's own pairs), or the profiles would train on different data."""
    from shapesworld.data import build_split, load_split

    build_split(tmp_path / "one", "train", 12, log=lambda m: None)
    build_split(tmp_path / "many", "train", 12, log=lambda m: None, workers=3, chunk=5)
    (a, ta), (b, tb) = load_split(tmp_path / "one"), load_split(tmp_path / "many")
    assert ta == tb and np.array_equal(a, b)
    p = pair_at("train", 11)
    assert np.array_equal(b[11, 0], p.source_image) and np.array_equal(b[11, 1], p.target_image)
    assert tb[11]["instruction"] == p.instruction
