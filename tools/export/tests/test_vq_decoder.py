"""The exported VQ decoder keeps its wide full-resolution tensors as channel parts: the same pixels
as the reference decoder (to float summation order), and no full-resolution buffer wider than the
decoder's last block."""

import numpy as np
import pytest
import torch

TOL = 2e-5  # pixels in [0, 1]: per-part conv sums differ from one conv's sum in the last bits


def _vq(cfg: dict, seed: int = 3):
    from diffusers import VQModel

    from editmgt_export.tiny import randomize

    model = VQModel(**cfg)
    randomize(model, seed)
    return model.eval()


def _ids(vq, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # include the mask id (codebook size), which decodes as code 0
    ids = torch.randint(0, vq.config.num_vq_embeddings + 1, (1, h, w), generator=g, dtype=torch.int64)
    return ids.to(torch.int32)


@pytest.mark.parametrize("which", ["tiny", "full"])
def test_split_decoder_matches_the_reference(which):
    from editmgt_export.fullsize import FULL_VQ
    from editmgt_export.graphs import VqDecode
    from editmgt_export.tiny import TINY_VQ
    from editmgt_export.vq_decoder import split_factor

    vq = _vq(TINY_VQ if which == "tiny" else FULL_VQ)
    assert split_factor(vq.decoder) == 2  # 32 -> 16 (tiny), 256 -> 128 channels (EditMGT's VQ-GAN)
    split = VqDecode(vq, split_tail=True).eval()
    assert split.tail is not None
    ids = _ids(vq, 4, 4)
    with torch.no_grad():
        want = VqDecode(vq).eval()(ids).numpy()
        got = split(ids).numpy()
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= TOL
    # not vacuous: the pixels vary, and a changed weight in one part shows
    assert want.std() > 1e-3
    with torch.no_grad():
        split.tail.up_conv[1][0].weight.mul_(1.5)
        assert np.abs(split(ids).numpy() - want).max() > 10 * TOL


def test_the_exported_decoder_holds_no_full_resolution_tensor_wider_than_its_last_block(tmp_path):
    from editmgt_export.buffers import largest_buffers
    from editmgt_export.fullsize import FULL_VQ
    from editmgt_export.graphs import VqDecode
    from editmgt_export.onnx_export import export_graph

    vq = _vq(FULL_VQ)
    h = w = 4  # 64 px: the widths decide the ratio, the resolution only scales it
    px = h * 2 ** (len(FULL_VQ["block_out_channels"]) - 1)
    last, wide = FULL_VQ["block_out_channels"][0], FULL_VQ["block_out_channels"][1]
    sizes = {}
    for split in (False, True):
        path = export_graph(
            VqDecode(vq, split_tail=split).eval(),
            (torch.zeros(1, h, w, dtype=torch.int32),),
            tmp_path / f"vq_decode_{split}.onnx",
            "vq_decode",
        )
        sizes[split] = largest_buffers(path)["activation"].bytes
    assert sizes[False] == wide * px * px * 4  # the reference layout: 256 channels at full resolution
    assert sizes[True] == last * px * px * 4  # split: the last block's 128


def test_the_split_is_exported_where_a_wide_tensor_would_exceed_the_default_binding():
    """Split where one 256-channel full-resolution tensor would pass WebGPU's default 128 MiB
    storage binding (the full-size VQ-GAN at 512 px and above); the reference layout elsewhere
    (the tiny model, and the full-size one at 256 px, keep their packages unchanged)."""
    from editmgt_export.fullsize import FULL_VQ
    from editmgt_export.tiny import TINY_VQ
    from editmgt_export.vq_decoder import SPLIT_ABOVE_BYTES, wide_tail_bytes

    full, tiny = _vq(FULL_VQ).decoder, _vq(TINY_VQ).decoder
    assert wide_tail_bytes(full, 512) == 256 * 512 * 512 * 4 > SPLIT_ABOVE_BYTES
    assert wide_tail_bytes(full, 256) == 64 * 2**20 <= SPLIT_ABOVE_BYTES
    assert 0 < wide_tail_bytes(tiny, 64) <= SPLIT_ABOVE_BYTES


def test_onnxruntime_runs_the_split_graph_as_the_reference(tmp_path):
    import onnxruntime as ort

    from editmgt_export.graphs import VqDecode
    from editmgt_export.onnx_export import export_graph
    from editmgt_export.tiny import TINY_VQ

    vq = _vq(TINY_VQ)
    ids = _ids(vq, 8, 8, seed=1)
    path = export_graph(VqDecode(vq, split_tail=True).eval(), (ids,), tmp_path / "vq_decode.onnx", "vq_decode")
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"ids": ids.numpy()})[0]
    with torch.no_grad():
        want = VqDecode(vq).eval()(ids).numpy()
    assert np.abs(got - want).max() <= TOL
