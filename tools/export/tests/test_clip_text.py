"""The reference's CLIP text normalisation (slow CLIP tokenizer + ftfy) in the pipeline, and the
committed goldens and engine tables are what the pinned ftfy gives now."""

import json

from editmgt_export.clip_text import normalize_clip_text, read_tables_module, tables
from editmgt_export.clip_text_goldens import OUT, compute, corpus


def test_goldens_are_current():
    stored = json.loads((OUT / "index.json").read_text())
    assert len(stored["cases"]) >= 200
    assert {k: stored[k] for k in ("tokenizer_sha256", "length", "pad_id", "cases")} == {
        k: v for k, v in compute().items() if k != "tokenizer"
    }


def test_engine_tables_are_current():
    assert read_tables_module() == tables()


def test_pipeline_tokenizes_clip_text_as_the_slow_tokenizer():
    from export_helpers import tokenizers

    tok = tokenizers()
    for text in corpus()[::7]:
        assert tok.clip_ids(text)[0].tolist() == tok.clip.encode(normalize_clip_text(text)).ids
    assert (
        tok.clip_ids("it\u2019s \uff52\uff45\uff44 &amp; \ufb01ne")[0].tolist()
        == tok.clip_ids("it's red & fine")[0].tolist()
    )
