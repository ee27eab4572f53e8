"""Templates made with a narrow Gemma export widened afterwards (template.py's ``narrow_llm``, how
the real-width Gemma-2-2B's templates fit in memory) are the templates of the direct export, byte
for byte: every q4 graph, weight map, constants file and the manifest."""

import json
import shutil

import pytest

from editmgt_export.errors import ExportError
from editmgt_export.template import build_templates, narrow_llm_plan
from editmgt_export.tiny import TINY_CHUNK_BYTES, TINY_RESOLUTION, build_random_checkpoint

GEMMA = {"intermediate_size": 160, "num_hidden_layers": 3}
NARROW = (96, 200)  # MLP width and token rows of the narrow export (the tokenizer has 385)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("narrow")
    ckpt = build_random_checkpoint(root / "ckpt", seed=2, gemma=GEMMA)
    out = {}
    for label, narrow in (("direct", None), ("narrow", NARROW)):
        out[label] = root / label
        build_templates(
            ckpt,
            ["q4"],
            out[label],
            resolution=TINY_RESOLUTION,
            chunk_bytes=TINY_CHUNK_BYTES,
            log=lambda _: None,
            narrow_llm=narrow,
        )
    yield ckpt, out
    shutil.rmtree(root, ignore_errors=True)


def test_widened_templates_are_the_direct_ones(built):
    _, out = built
    a, b = out["direct"], out["narrow"]
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert "q4/text_llm.weights.json" in names
    assert [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()] == []
    table = next(
        e for e in json.loads((a / "q4/text_llm.weights.json").read_text())["entries"] if "token_rows" in str(e)
    )
    manifest = json.loads((a / "manifest.json").read_text())
    assert list(manifest["dtypes"]) == ["q4"] and not [f for f in manifest["files"] if f["path"].startswith("fp32/")]
    assert table["shape"][0] == json.loads((built[0] / "llm_encoder/config.json").read_text())["vocab_size"]


def test_narrow_plans(built):
    ckpt, _ = built
    assert narrow_llm_plan(ckpt, ["q4"], "auto") is None  # a small Gemma is exported as it is
    assert narrow_llm_plan(ckpt, ["q4"], NARROW) == NARROW
    with pytest.raises(ExportError, match="q4 graphs only"):
        narrow_llm_plan(ckpt, ["q4", "fp16"], NARROW)
    with pytest.raises(ExportError, match="llm_encoder/config.json"):
        narrow_llm_plan(ckpt, ["q4"], (160, 200))
