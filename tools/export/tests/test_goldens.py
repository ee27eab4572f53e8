"""The committed golden fixtures are what the PyTorch reference computes now, and the fp32
ONNX package replays them (ids exact, floats within the index's tolerances)."""

import numpy as np
import pytest
from export_helpers import TINY_PACKAGE, geometry, load_array, load_index, tokenizers

INT_KINDS = ("int32", "uint8")


@pytest.fixture(scope="module")
def reference_goldens(tiny_ckpt):
    from editmgt_export.goldens import compute_goldens
    from editmgt_export.runners import TorchRunner

    geo = geometry()
    idx = load_index()
    runner = TorchRunner(tiny_ckpt, geo.token_grid, geo.llm_length, [2, 3])
    return compute_goldens(runner, tokenizers(), geo, seed=idx["generated_by"]["uniform_seed"])


def _compare(name, got, want, meta, tol):
    got = np.asarray(got)
    if got.dtype == np.bool_:
        got = got.astype(np.uint8)
    assert list(got.shape) == meta["shape"], name
    if meta["dtype"] in INT_KINDS:
        np.testing.assert_array_equal(got.astype(want.dtype), want, err_msg=name)
    else:
        np.testing.assert_allclose(got, want, atol=tol, rtol=0, err_msg=name)


def test_index_describes_every_file():
    idx = load_index()
    assert idx["format_version"] == 1 and idx["arrays"]
    for name, meta in idx["arrays"].items():
        arr = load_array(name, index=idx)
        assert arr.size == int(np.prod(meta["shape"])), name


def test_goldens_match_the_pytorch_reference(reference_goldens):
    idx = load_index()
    missing = set(idx["arrays"]) ^ set(reference_goldens["arrays"])
    assert not missing
    for name, meta in idx["arrays"].items():
        _compare(name, reference_goldens["arrays"][name], load_array(name, index=idx), meta, 2e-5)


@pytest.mark.parametrize(
    "case", ["edit_hold_off", "edit_hold_on", "edit_mask", "edit_guidance_half", "edit_guidance_one"]
)
def test_fp32_onnx_replays_the_golden_edit(case):
    from editmgt_export.goldens import PROMPTS, golden_mask
    from editmgt_export.pipeline import EditRequest, run_edit
    from editmgt_export.runners import OrtRunner

    idx = load_index()
    meta = idx["cases"][case]
    geo = geometry()
    req = EditRequest(
        prompt=PROMPTS["plain"],
        pixels=load_array("image/pixels", index=idx),
        draw_u=load_array("uniforms/draw_u", index=idx),
        gumbel_u=load_array("uniforms/gumbel_u", index=idx),
        region_hold=meta["region_hold"],
        guidance_scale=meta["guidance_scale"],
        mask=golden_mask(*geo.token_grid) if meta["mask"] else None,
    )
    rec = run_edit(OrtRunner(TINY_PACKAGE / "fp32"), tokenizers(), geo, req)
    for key in ("drawn_ids", "sampled_ids", "hold_mask", "remasked", "tokens_after", "mask_len", "final_ids"):
        _compare(key, rec[key], load_array(f"{case}/{key}", index=idx), idx["arrays"][f"{case}/{key}"], 0)
    for key in ("drawn_probs", "ref_probs"):
        _compare(key, rec[key], load_array(f"{case}/{key}", index=idx), idx["arrays"][f"{case}/{key}"], 1e-4)
    for key in ("attention", "attention_raw", "attention_smoothed", "token_scores"):
        tol = 1e-4 if key == "attention" else 1e-3  # rescaled maps magnify tiny differences
        _compare(key, rec[key], load_array(f"{case}/{key}", index=idx), idx["arrays"][f"{case}/{key}"], tol)
    _compare("pixels", rec["pixels"], load_array(f"{case}/pixels", index=idx), idx["arrays"][f"{case}/pixels"], 1e-4)


def test_golden_cases_behave_as_described():
    idx = load_index()
    a = lambda n: load_array(n, index=idx)  # noqa: E731
    mask_id = idx["geometry"]["mask_token_id"]
    assert a("edit_hold_off/hold_mask").sum() == 0
    assert a("edit_hold_on/hold_mask").sum() > 0
    for case in ("edit_hold_off", "edit_hold_on", "edit_mask"):
        assert (a(f"{case}/final_ids") != mask_id).all()
        np.testing.assert_array_equal(a(f"{case}/remasked").sum(1), a(f"{case}/mask_len"))
    m = a("edit_mask/mask").astype(bool)
    src, final = a("edit_mask/source_ids").reshape(-1), a("edit_mask/final_ids").reshape(-1)
    np.testing.assert_array_equal(final[~m], src[~m])
    assert (a("edit_mask/ref_tokens").reshape(-1)[m] == mask_id).all()
    # tokenizer goldens: fixed lengths, truncation keeps the end token for CLIP
    for key in idx["prompts"]:
        assert a(f"tokenizer/{key}/clip_ids").shape == (77,)
        assert a(f"tokenizer/{key}/llm_ids").shape == (256,)
    assert a("tokenizer/long256/llm_attention_mask").sum() == 256
