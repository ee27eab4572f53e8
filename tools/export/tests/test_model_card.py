"""The model card a converted package carries: sources, dtypes, licence notices, the open link."""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from editmgt_export.model_card import GEMMA_NOTICE, main, model_card, notice_text, open_link, resolve_url

ROOT = Path(__file__).resolve().parents[3]


def _manifest(name: str) -> dict:
    return json.loads((ROOT / "public" / "models" / name / "manifest.json").read_text())


def test_card_lists_source_dtypes_and_their_download_sizes():
    m = _manifest("tiny-random")
    card = model_card(m, repo="someone/editmgt-q4")
    assert card.startswith("---\nlicense: other\n")
    assert "\n# tiny-random\n" in card
    assert f"`{m['source']['id']}` (revision `{m['source']['revision']}`)" in card
    assert f"Converted by: {m['generator']['tool']}" in card
    size = {f["path"]: f["bytes"] for f in m["files"]}
    tokenizers = m["tokenizers"]["clip"]["files"] + m["tokenizers"]["llm"]["files"]
    for dtype, entry in m["dtypes"].items():
        paths = set(tokenizers)
        for g in entry["graphs"].values():
            paths |= {g["file"], *g.get("external_data", [])}
            if "token_table" in g:
                paths.add(g["token_table"]["file"])
        row = f"| {dtype} | {', '.join(entry['providers'])} | {sum(size[p] for p in paths) / 1e6:,.1f} MB |"
        assert row in card, row
    assert f"{len(m['files'])} files" in card


def test_card_carries_the_three_licence_notices():
    card = model_card(_manifest("tiny-random"))
    assert "CC BY 4.0" in card and "https://github.com/weichow23/EditMGT" in card
    assert GEMMA_NOTICE in card
    assert "https://ai.google.dev/gemma/terms" in card
    assert "https://ai.google.dev/gemma/prohibited_use_policy" in card
    assert "MIT" in card and "https://huggingface.co/laion/CLIP-ViT-H-14-laion2B-s32B-b79K" in card
    assert "modified" in card
    assert notice_text() == GEMMA_NOTICE + "\n"


def test_a_package_not_from_editmgt_claims_no_gemma_or_clip_licence():
    card = model_card(_manifest("shapes"), from_editmgt=False)
    assert GEMMA_NOTICE not in card and "CC BY 4.0" not in card
    assert "no Gemma or CLIP weights" in card
    assert notice_text(False) == ""


def test_card_links_to_the_package_open_in_the_editor():
    card = model_card(_manifest("tiny-random"), repo="someone/editmgt-q4", editor_url="https://editor.example/app/")
    url = resolve_url("someone/editmgt-q4")
    assert url == "https://huggingface.co/someone/editmgt-q4/resolve/main/"
    link = open_link("https://editor.example/app/", url)
    assert f"[Open tiny-random in the editor]({link})" in card
    parsed = urlparse(link)
    assert (parsed.scheme, parsed.netloc, parsed.path) == ("https", "editor.example", "/app/")
    assert parse_qs(parsed.query) == {"model": [url]}
    assert f"`{url}`" in card
    assert "short form `hf:someone/editmgt-q4`" in card
    pinned = model_card(_manifest("tiny-random"), repo="someone/editmgt-q4", revision="abc123")
    assert "short form `hf:someone/editmgt-q4@abc123`" in pinned


def test_without_a_repo_the_card_says_where_the_url_comes_from():
    card = model_card(_manifest("tiny-random"))
    assert "`https://huggingface.co/<owner>/<repo>/resolve/main/`" in card
    assert "[Open " not in card


def test_card_is_the_same_for_the_same_package():
    m = _manifest("tiny-random")
    assert model_card(m, repo="a/b") == model_card(json.loads(json.dumps(m)), repo="a/b")


def test_write_card_adds_the_card_and_notice_without_touching_the_manifest(tmp_path):
    manifest = (ROOT / "public" / "models" / "tiny-random" / "manifest.json").read_bytes()
    (tmp_path / "manifest.json").write_bytes(manifest)
    main([str(tmp_path), "--repo", "a/b", "--editor-url", "https://editor.example/"])
    assert (tmp_path / "manifest.json").read_bytes() == manifest
    assert (tmp_path / "README.md").read_text() == model_card(
        json.loads(manifest), repo="a/b", editor_url="https://editor.example/"
    )
    assert (tmp_path / "NOTICE").read_text() == GEMMA_NOTICE + "\n"
    listed = {f["path"] for f in json.loads(manifest)["files"]}
    assert "README.md" not in listed and "NOTICE" not in listed


def test_convert_writes_the_card_into_the_package_outside_its_manifest(tiny_ckpt_dir, tmp_path, monkeypatch):
    from editmgt_export.__main__ import main as cli_main

    # the fp32 export is made once and reused by the later conversions
    args = ["convert", "--source", str(tiny_ckpt_dir), "--dtype", "q4", "--resolution", "64"]
    args += ["--keep-fp32", str(tmp_path / "fp32")]
    out = tmp_path / "pkg"
    assert cli_main([*args, "--out", str(out), "--repo", "a/b", "--editor-url", "https://editor.example/"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / "README.md").read_text() == model_card(manifest, repo="a/b", editor_url="https://editor.example/")
    assert (out / "NOTICE").read_text() == GEMMA_NOTICE + "\n"
    assert {"README.md", "NOTICE"}.isdisjoint(f["path"] for f in manifest["files"])

    mine = tmp_path / "not-editmgt"
    assert cli_main([*args, "--out", str(mine), "--not-from-editmgt"]) == 0
    assert (mine / "README.md").read_text() == model_card(
        json.loads((mine / "manifest.json").read_text()), from_editmgt=False
    )
    assert not (mine / "NOTICE").exists()

    bare = tmp_path / "bare"
    assert cli_main([*args, "--out", str(bare), "--no-card"]) == 0
    assert not (bare / "README.md").exists() and not (bare / "NOTICE").exists()

    # the card is written inside the temporary folder, before the rename: a card that cannot be
    # written leaves no package (without its card) at --out, and no temporary folder
    from editmgt_export import model_card as card_module

    def fail(*_, **__):
        raise OSError("disk full")

    monkeypatch.setattr(card_module, "model_card", fail)
    failed = tmp_path / "failed"
    with pytest.raises(OSError):
        cli_main([*args, "--out", str(failed)])
    assert not failed.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".failed")] == []
