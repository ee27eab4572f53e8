"""The training loss (the focus stage's weighting of changed tokens, on a real untrained model), and
the name a checkpoint gives the command that trained it."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from shapesworld import mgt, text


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("work")
    clip_tok, llm_tok = mgt.tokenizers(tmp_path)
    model, encoders = mgt.build_models(tmp_path, seed=0)
    model.eval(), encoders.eval()
    rows = ["remove the red circle", "make the square blue", "", mgt.NEGATIVE_PROMPT]
    text_ids = text.encode_texts(clip_tok, llm_tok, rows)
    rng = np.random.default_rng(3)
    # two pairs whose target differs from the source on a known block of tokens
    src = rng.integers(0, mgt.CODEBOOK, (2, 16, 16))
    tgt = src.copy()
    tgt[:, 4:8, 4:8] = (tgt[:, 4:8, 4:8] + 1) % mgt.CODEBOOK
    tokens = np.stack([src, tgt], axis=1)  # [pair, side, h, w]: side 0 source, 1 target
    idx = np.arange(2)
    masked = np.zeros((2, mgt.SEQ), bool)
    masked[:, ::3] = True
    masked[:, 4 * 16 + 4] = masked[:, 5 * 16 + 6] = True
    batch = (idx, np.ones(2, np.int64), masked, np.full(2, 7.0), np.zeros(2, bool), torch.from_numpy(idx))
    return model, encoders, text_ids, tokens, batch


@torch.no_grad()
def test_changed_weight_counts_changed_tokens_more(setup):
    model, encoders, text_ids, tokens, batch = setup
    plain, _, logits, tgt, m, _ = mgt.forward_loss(model, encoders, text_ids, tokens, batch, "edit")
    ce = F.cross_entropy(logits, tgt[m], reduction="none")
    changed = torch.from_numpy(tokens[:, 1] != tokens[:, 0])[m]
    assert 0 < int(changed.sum()) < len(changed)
    assert torch.allclose(plain, ce.mean())
    for w in (4.0, 1e6):
        weighted, *_ = mgt.forward_loss(model, encoders, text_ids, tokens, batch, "edit", changed_weight=w)
        want = (ce[changed].sum() * w + ce[~changed].sum()) / (changed.sum() * w + (~changed).sum())
        assert torch.allclose(weighted, want, rtol=1e-5)
    # with a huge weight only the changed positions count
    assert torch.allclose(weighted, ce[changed].mean(), rtol=1e-4)


@torch.no_grad()
def test_text_to_image_ignores_the_weight(setup):
    model, encoders, text_ids, tokens, batch = setup
    plain, *_ = mgt.forward_loss(model, encoders, text_ids, tokens, batch, "t2i")
    weighted, *_ = mgt.forward_loss(model, encoders, text_ids, tokens, batch, "t2i", changed_weight=4.0)
    assert torch.equal(plain, weighted)


def test_checkpoint_names_the_command_that_trained_it():
    """The manifest's source.id says which profile made the weights: the plain recipe only when
    every option that shapes them has its default."""
    from shapesworld import train
    from shapesworld.hub import RECIPE

    ap = train.parser()
    defaults = {k: ap.get_default(k) for k in train.RECIPE_OPTIONS}
    assert vars(ap.parse_args([])) | defaults == vars(ap.parse_args([]))  # every name is a real option
    assert train.recipe(SimpleNamespace(**defaults), defaults) == RECIPE
    gpu = SimpleNamespace(
        **{**defaults, "device": "cuda", "batch": 512, "focus_steps": 1950, "reuse_vq": Path(".work")}
    )
    named = train.recipe(gpu, defaults)
    assert "--device cuda --batch 512" in named and "--focus-steps 1950" in named and "VQ and tokenizers" in named
    assert train.recipe(SimpleNamespace(**{**defaults, "t2i_steps": 50}), defaults) != RECIPE
