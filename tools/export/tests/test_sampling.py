"""Engine-side step math against the reference's own formulas (scipy, torch)."""

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter, generic_filter

from editmgt_export import sampling


def reference_adaptive_smooth(scores):  # the reference's formula, with scipy
    orig = scores.copy()
    gauss = gaussian_filter(scores, sigma=1.5, mode="reflect")
    var = generic_filter(scores, np.var, size=5)
    var = (var - var.min()) / (var.max() - var.min() + 1e-8)
    w = 1.0 - var * 0.7
    sm = w * gauss + (1 - w) * scores
    peak = orig > np.percentile(orig, 90)
    sm[peak] = 0.7 * orig[peak] + 0.3 * sm[peak]
    sm = (sm - sm.min()) / (sm.max() - sm.min())
    return sm * (orig.max() - orig.min()) + orig.min()


@pytest.mark.parametrize("shape", [(8, 8), (32, 32), (5, 9)])
def test_smoothing_matches_scipy(shape):
    x = np.random.default_rng(0).random(shape).astype(np.float32)
    np.testing.assert_allclose(sampling.adaptive_smooth(x), reference_adaptive_smooth(x), atol=2e-6)


@pytest.mark.parametrize("grid", [(8, 8), (32, 32)])
def test_bicubic_matches_torch(grid):
    x = np.random.default_rng(1).random(grid).astype(np.float32)
    want = torch.nn.functional.interpolate(
        torch.from_numpy(x)[None, None], size=(grid[0] * 2, grid[1] * 2), mode="bicubic", align_corners=False
    )[0, 0].numpy()
    np.testing.assert_allclose(sampling.bicubic_upsample(x, grid[0] * 2, grid[1] * 2), want, atol=1e-6)


@pytest.mark.parametrize("steps", [8, 16, 36])
def test_mask_len_matches_the_reference_scheduler(steps):
    for seq in (256, 4096):
        for ratio in (1.0, 0.25):
            for i in range(steps - 1):
                r = (torch.tensor([[i]]) + 1) / steps
                n = (seq * (torch.cos(r * math.pi / 2) * torch.tensor(ratio))).floor()
                unknown = seq // 2
                want = int(torch.max(torch.tensor([1]), torch.min(torch.tensor([[unknown - 1]]), n)))
                assert sampling.mask_len(i, steps, seq, unknown, ratio) == want


def test_gumbel_and_remask():
    u = np.array([0.0, 1e-30, 0.5, 0.999999], np.float32)
    want = -torch.log((-torch.log(torch.from_numpy(u).clamp(1e-20))).clamp(1e-20)).numpy()
    np.testing.assert_allclose(sampling.gumbel(u), want, rtol=1e-6)
    conf = np.array([3.0, -1.0, 0.5, np.inf, -2.0], np.float32)
    np.testing.assert_array_equal(sampling.remask(conf, 2), [False, True, False, False, True])
    np.testing.assert_array_equal(sampling.temperatures(5), torch.linspace(2, 0, 5).numpy())


def test_rescale_and_score_map_shapes():
    att = np.random.default_rng(2).random(64).astype(np.float32)
    maps = sampling.attention_score_map(att, (8, 8), (16, 16))
    assert maps["raw"].min() == 0 and maps["raw"].max() <= 1
    assert maps["smoothed"].shape == (64,) and maps["token_scores"].shape == (256,)
    same = sampling.attention_score_map(att, (8, 8), (8, 8))
    np.testing.assert_array_equal(same["token_scores"], same["smoothed"])
