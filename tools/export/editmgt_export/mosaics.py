"""The token grids the codebook colours are decoded from (no torch: the exporter and the
converters from templates share them)."""

from __future__ import annotations

import numpy as np


def codebook_mosaics(codebook_size: int, token_grid: tuple[int, int], block: int = 2) -> np.ndarray:
    """Token grids [n, h, w] (int32) that show every code as a block×block patch, in code order
    (row-major patches; the last grid is padded with code 0)."""
    h, w = token_grid
    per = (h // block) * (w // block)
    n = -(-codebook_size // per)
    codes = np.zeros(n * per, np.int32)
    codes[:codebook_size] = np.arange(codebook_size)
    patches = codes.reshape(n, h // block, w // block)
    return np.repeat(np.repeat(patches, block, axis=1), block, axis=2)
