import pytest
import torch

torch.set_num_threads(1)  # the CI box has 2 cores shared with other jobs; spinning threads hurt


@pytest.fixture(scope="session")
def tiny_ckpt_dir(tmp_path_factory):
    from editmgt_export.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt", seed=0)


@pytest.fixture(scope="session")
def tiny_ckpt(tiny_ckpt_dir):
    from editmgt_export.checkpoint import load_checkpoint

    return load_checkpoint(tiny_ckpt_dir)
