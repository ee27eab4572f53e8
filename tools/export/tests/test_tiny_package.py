"""The committed tiny-random package: manifest schema, file hashes, graph I/O contract,
tokenizers, loading every dtype; a fresh conversion reproduces it; writes are atomic."""

import hashlib
import json

import jsonschema
import numpy as np
import onnx
import pytest
from export_helpers import REPO, TINY_PACKAGE, manifest, tokenizers

SCHEMA = json.loads((REPO / "src" / "engine" / "manifest.schema.json").read_text())
CONTRACT = {  # docs/model-package.md
    "text_clip": ([("input_ids", "int64", ["batch", 77])], [("text_embeds", "float32", ["batch", 32])]),
    "text_llm": (
        [("inputs_embeds", "float32", ["batch", 256, 32]), ("attention_mask", "int64", ["batch", 256])],
        [("hidden_states", "float32", ["batch", 256, 32])],
    ),
    "vq_encode": ([("pixels", "float32", [1, 3, 64, 64])], [("ids", "int32", [1, 16, 16])]),
    "vq_decode": ([("ids", "int32", [1, 16, 16])], [("pixels", "float32", [1, 3, 64, 64])]),
    "transformer_step": (
        [
            ("tokens", "int32", [1, 16, 16]),
            ("ref_tokens", "int32", [1, 16, 16]),
            ("text_states", "float32", [2, 256, 32]),
            ("pooled", "float32", [2, 32]),
            ("micro_conds", "float32", [1, 5]),
            ("timestep", "float32", [1]),
            ("guidance_scale", "float32", [1]),
            ("ref_bias", "float32", [1]),
            ("text_weights", "float32", [256]),
            ("uniforms", "float32", [1, 256]),
        ],
        [
            ("drawn_ids", "int32", [1, 256]),
            ("drawn_probs", "float32", [1, 256]),
            ("ref_probs", "float32", [1, 256]),
            ("attention", "float32", [1, 64]),
        ],
    ),
}


def test_manifest_validates_against_the_shared_schema():
    m = manifest()
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(m)
    assert m["format_version"] == 1 and m["name"] == "tiny-random"
    assert set(m["dtypes"]) == {"fp32", "fp16", "q4", "q4f16", "q8"}
    cfg = m["config"]
    assert cfg["codebook_size"] == 64 and cfg["mask_token_id"] == 127 and cfg["vocab_size"] == 128
    assert cfg["resolutions"]["64"] == {"token_grid": [16, 16], "transformer_grid": [8, 8]}
    assert cfg["attention_blocks"] == [2, 3] and cfg["vae_scale_factor"] == 4
    assert cfg["readback_bytes_per_step"] == 3 * 256 * 4 + 64 * 4
    assert m["defaults"] == {
        "steps": 36,
        "guidance_scale": 6.0,
        "reference_strength": 1.1,
        "temperature": [2.0, 0.0],
        "region_hold_lambda": 0.01,
        "region_hold_enabled": False,
    }
    assert m["negative_prompt"].startswith("worst quality, low quality, low res, blurry")
    assert len(m["codebook_colors"]) == 64


def test_schema_rejects_broken_manifests():
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for breakage in (
        lambda m: m.pop("files"),
        lambda m: m.update(format_version=2),
        lambda m: m["dtypes"].update(int3={"providers": ["wasm"], "graphs": {}}),
        lambda m: m["files"][0].update(sha256="xyz"),
        lambda m: m["files"][0].update(path="../etc/passwd"),
    ):
        m = manifest()
        breakage(m)
        assert not validator.is_valid(m)


def test_files_match_sizes_and_hashes():
    m = manifest()
    listed = {f["path"] for f in m["files"]}
    on_disk = {p.relative_to(TINY_PACKAGE).as_posix() for p in TINY_PACKAGE.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert listed == on_disk
    for f in m["files"]:
        data = (TINY_PACKAGE / f["path"]).read_bytes()
        assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"], f["path"]
    total = sum(f["bytes"] for f in m["files"])
    assert total < 12_000_000, total


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "q4", "q4f16", "q8"])
def test_graph_io_follows_the_contract(dtype):
    m = manifest()
    for graph, (ins, outs) in CONTRACT.items():
        model = onnx.load(str(TINY_PACKAGE / m["dtypes"][dtype]["graphs"][graph]["file"]))
        assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
        desc = lambda vs: [
            (
                v.name,
                {1: "float32", 6: "int32", 7: "int64"}[v.type.tensor_type.elem_type],  # noqa: E731
                [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim],
            )
            for v in vs
        ]
        got_in, got_out = desc(model.graph.input), desc(model.graph.output)
        norm = lambda xs: [(n, t, ["batch" if isinstance(d, str) else d for d in s]) for n, t, s in xs]  # noqa: E731
        assert norm(got_in) == ins, (dtype, graph)
        assert norm(got_out) == outs, (dtype, graph)
        assert {"inputs", "outputs"} <= set(m["graphs"][graph])


def test_quantized_graphs_use_the_intended_kernels():
    ops = lambda d: {n.op_type for n in onnx.load(str(TINY_PACKAGE / d / "transformer_step.onnx")).graph.node}  # noqa: E731
    q4 = onnx.load(str(TINY_PACKAGE / "q4" / "transformer_step.onnx"))
    nbits = [n for n in q4.graph.node if n.op_type == "MatMulNBits"]
    assert nbits and all(
        {a.name: a.i for a in n.attribute}["block_size"] == 32 and {a.name: a.i for a in n.attribute}["bits"] == 4
        for n in nbits
    )
    assert "MatMulNBits" in ops("q4f16")
    assert "MatMulInteger" in ops("q8") or "DynamicQuantizeMatMul" in ops("q8")
    fp16 = onnx.load(str(TINY_PACKAGE / "fp16" / "transformer_step.onnx"))
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in fp16.graph.initializer)
    # the step's hot path has no int64 arithmetic: ids come in and go out as int32
    step = onnx.load(str(TINY_PACKAGE / "fp32" / "transformer_step.onnx"))
    assert "CumSum" in {n.op_type for n in step.graph.node}


def test_tokenizers_pad_and_truncate():
    from transformers import AutoTokenizer

    tok = tokenizers()
    m = manifest()
    for text in ("", "make the car blue", "a red hat " * 200, "Ünïcödé café — 東京 🐱"):
        clip = tok.clip_ids(text)[0]
        llm, mask = tok.llm_ids(text)
        assert clip.shape == (77,) and llm.shape == (1, 256)
        assert clip[0] == tok.clip.token_to_id("<|startoftext|>")
        assert tok.clip.token_to_id("<|endoftext|>") in clip  # truncation keeps the end token
        assert llm[0, 0] == tok.llm.token_to_id("<bos>")
        assert (llm[0][mask[0] == 0] == m["tokenizers"]["llm"]["pad_id"]).all()
        hf_clip = AutoTokenizer.from_pretrained(str(TINY_PACKAGE / "tokenizer_clip"))
        hf_llm = AutoTokenizer.from_pretrained(str(TINY_PACKAGE / "tokenizer_llm"))
        assert hf_clip(text, padding="max_length", max_length=77, truncation=True).input_ids == clip.tolist()
        assert hf_llm(text, padding="max_length", max_length=256, truncation=True).input_ids == llm[0].tolist()
    assert tok.clip.decode(tok.clip_ids("make the car blue")[0].tolist()).strip() == "make the car blue"


def test_codebook_colors_are_mean_decoded_rgb():
    """Each colour is the mean of that code's 2x2-token patch in decoded code mosaics."""
    from editmgt_export.package import codebook_mosaics, patch_means
    from editmgt_export.runners import OrtRunner

    m = manifest()
    runner = OrtRunner(TINY_PACKAGE / "fp32")
    mosaics = codebook_mosaics(64, (16, 16))
    assert mosaics.shape == (1, 16, 16) and sorted(np.unique(mosaics)) == list(range(64))
    pixels = np.concatenate([runner.run("vq_decode", {"ids": mm[None]})["pixels"] for mm in mosaics])
    np.testing.assert_allclose(np.array(m["codebook_colors"]), patch_means(pixels, (16, 16))[:64], atol=1e-4)


def test_fresh_conversion_reproduces_the_package(tiny_ckpt, tmp_path):
    """Catches a stale committed package: re-export fp32 + q4 and compare outputs."""
    from export_helpers import step_feeds_along_edit

    from editmgt_export.package import write_package
    from editmgt_export.runners import OrtRunner
    from editmgt_export.tiny import TINY_CHUNK_BYTES

    out = tmp_path / "tiny-random"
    new = write_package(
        tiny_ckpt,
        out,
        ["fp32", "q4"],
        name="tiny-random",
        source="editmgt_export tiny --seed 0",
        resolution=64,
        log=lambda *_: None,
        dated=False,
        chunk_bytes=TINY_CHUNK_BYTES,
    )
    old = manifest()
    # byte for byte: the same seed and versions give the same files (the tiny command is reproducible)
    assert {f["path"]: f["sha256"] for f in new["files"]} == {
        f["path"]: f["sha256"]
        for f in old["files"]
        if f["path"].split("/")[0] in ("fp32", "q4", "tokenizer_clip", "tokenizer_llm")
    }
    assert new["config"] == old["config"] and new["graphs"] == old["graphs"] and new["tokenizers"] == old["tokenizers"]
    # The colours come from a VQ decode (convolutions through the CPU's BLAS), rounded to 6 decimals:
    # the last digit differs between Intel and AMD kernels, so they are compared within 1e-5.
    np.testing.assert_allclose(np.array(new["codebook_colors"]), np.array(old["codebook_colors"]), atol=1e-5, rtol=0)
    for f in ("tokenizer_clip/tokenizer.json", "tokenizer_llm/tokenizer.json"):
        assert (out / f).read_bytes() == (TINY_PACKAGE / f).read_bytes()
    feeds = step_feeds_along_edit("edit_hold_on")[2]
    for d in ("fp32", "q4"):
        a = OrtRunner(out / d).run("transformer_step", feeds)
        b = OrtRunner(TINY_PACKAGE / d).run("transformer_step", feeds)
        np.testing.assert_array_equal(a["drawn_ids"], b["drawn_ids"])
        np.testing.assert_allclose(a["attention"], b["attention"], atol=1e-6)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_failed_conversion_leaves_the_old_package_untouched(tiny_ckpt, tmp_path, monkeypatch):
    import editmgt_export.package as package
    from editmgt_export.errors import ExportError

    out = tmp_path / "pkg"
    out.mkdir()
    (out / "manifest.json").write_text('{"old": true}')

    def boom(*a, **k):
        raise ExportError("simulated failure")

    monkeypatch.setattr(package, "export_all", boom)
    with pytest.raises(ExportError):
        package.write_package(tiny_ckpt, out, ["fp32"], name="pkg", source="x", resolution=64)
    assert (out / "manifest.json").read_text() == '{"old": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["pkg"]


def test_package_is_world_readable(tiny_ckpt, tmp_path):
    """A static web server runs as another user: the package folder and external data must be readable."""
    import os
    import stat

    from editmgt_export.onnx_export import save_model
    from editmgt_export.package import write_package

    out = tmp_path / "pkg"
    write_package(tiny_ckpt, out, ["q4"], name="pkg", source="x", resolution=64, log=lambda *_: None)
    umask = os.umask(0)
    os.umask(umask)
    for p in [out, *out.rglob("*")]:
        assert stat.S_IMODE(p.stat().st_mode) == (0o777 if p.is_dir() else 0o666) & ~umask, p
    model = onnx.load(str(TINY_PACKAGE / "fp32" / "vq_decode.onnx"))
    save_model(model, tmp_path / "big.onnx", chunk_bytes=256 * 1024)
    for p in (tmp_path / "big.onnx.data", tmp_path / "big.onnx.data_1"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask


def test_a_graph_keeps_its_own_compute_dtype_and_the_manifest_says_so(tiny_ckpt, tmp_path):
    from editmgt_export.errors import ExportError
    from editmgt_export.package import write_package

    out = tmp_path / "pkg"
    m = write_package(
        tiny_ckpt,
        out,
        ["q4"],
        name="pkg",
        source="x",
        resolution=64,
        log=lambda *_: None,
        graph_dtypes={"q4": {"text_llm": "fp32"}},
    )
    graphs = m["dtypes"]["q4"]["graphs"]
    assert graphs["text_llm"]["dtype"] == "fp32" and graphs["vq_encode"]["dtype"] == "fp32"
    assert "dtype" not in graphs["transformer_step"]
    ops = lambda g: {n.op_type for n in onnx.load(str(out / graphs[g]["file"])).graph.node}  # noqa: E731
    assert "MatMulNBits" not in ops("text_llm") and "MatMulNBits" in ops("transformer_step")
    with pytest.raises(ExportError, match="cannot give q4/text_llm the compute dtype 'int2'"):
        write_package(
            tiny_ckpt,
            tmp_path / "bad",
            ["q4"],
            name="pkg",
            source="x",
            resolution=64,
            graph_dtypes={"q4": {"text_llm": "int2"}},
        )


def test_text_length_is_a_parameter_that_reaches_graphs_tokenizer_and_manifest(tiny_ckpt, tmp_path):
    """A model trained with a shorter instruction length (the shapes model: 32) is converted by
    passing it; nothing of the converter's module state changes."""
    from editmgt_export import package
    from editmgt_export.package import write_package

    before = (package.LLM_LEN, package.export_all)
    m = write_package(
        tiny_ckpt, tmp_path / "short", ["fp32"], name="pkg", source="x", resolution=64, log=lambda *_: None, text_len=16
    )
    assert (package.LLM_LEN, package.export_all) == before
    assert m["config"]["text"]["llm_length"] == 16
    assert m["tokenizers"]["llm"]["max_length"] == 16
    tok = json.loads((tmp_path / "short" / "tokenizer_llm" / "tokenizer.json").read_text())
    assert tok["truncation"]["max_length"] == 16 and tok["padding"]["strategy"] == {"Fixed": 16}
    graph = onnx.load(str(tmp_path / "short" / "fp32" / "text_llm.onnx"), load_external_data=False)
    # text_llm takes the token rows (inputs_embeds [batch, length, width]); the batch is dynamic
    dims = [d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1] == 16, dims
