"""The shipped public/models/shapes package validates and its graphs load and run.

(The quick edit-quality check on fixed test pairs runs through the TypeScript engine:
bench/node/evalShapes.test.ts.)
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parents[1]
REPO = HERE.parents[1]
PACKAGE = REPO / "public" / "models" / "shapes"

MAX_BYTES = 30_000_000

pytestmark = pytest.mark.skipif(not (PACKAGE / "manifest.json").is_file(), reason="package not built")


def manifest():
    return json.loads((PACKAGE / "manifest.json").read_text())


def test_manifest_validates_and_files_match():
    from editmgt_export.package import validate_manifest

    m = manifest()
    validate_manifest(m)
    total = 0
    for f in m["files"]:
        data = (PACKAGE / f["path"]).read_bytes()
        assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"], f["path"]
        total += len(data)
    assert total < MAX_BYTES
    listed = {f["path"] for f in m["files"]}
    for entry in m["dtypes"].values():
        assert {g["file"] for g in entry["graphs"].values()} <= listed
    assert {"fp32", "q4"} <= set(m["dtypes"])
    assert m["suggestions"] and m["negative_prompt"] == ""
    assert m["config"]["resolution"] == 128 and m["config"]["text"]["llm_length"] == 32


@pytest.mark.parametrize(
    "dtype",
    sorted(json.loads((PACKAGE / "manifest.json").read_text())["dtypes"])
    if (PACKAGE / "manifest.json").is_file()
    else ["fp32"],
)
def test_graphs_load_and_encode_decode(dtype):
    from PIL import Image

    from shapesworld.evaluate import package_runner

    runner = package_runner(PACKAGE, dtype, threads=1)
    assert set(runner.sessions) == {"text_clip", "text_llm", "vq_encode", "vq_decode", "transformer_step"}
    src = np.asarray(Image.open(HERE / "testset" / "test_00001_source.png").convert("RGB"))
    ids = runner.run("vq_encode", {"pixels": (src.astype(np.float32) / 255).transpose(2, 0, 1)[None].copy()})["ids"]
    assert ids.shape == (1, 16, 16)
    px = runner.run("vq_decode", {"ids": ids})["pixels"][0].transpose(1, 2, 0)
    # the VQ round trip keeps the picture (bar well below the measured value, see docs/shapes.md)
    mse = float(np.mean((px * 255 - src) ** 2))
    assert 10 * np.log10(255**2 / mse) > 18


def test_domain_examples_are_listed_and_redrawn_identically_by_the_generator(tmp_path):
    from shapesworld.package import EXAMPLE_PAIRS, add_domain

    m = manifest()
    d = m["domain"]
    assert d["narrow"] is True and d["description"] and d["outside"]
    listed = {f["path"]: f for f in m["files"]}
    assert [e["path"] for e in d["examples"]] == [f"examples/test_{i:05d}.png" for i in EXAMPLE_PAIRS]
    assert all(e["instruction"] for e in d["examples"])
    again = add_domain(tmp_path, {"files": []})
    assert again["files"] == [listed[e["path"]] for e in d["examples"]]
    assert again["domain"] == d
