"""The committed pre-processing goldens (goldens/preprocess) are what the reference pipeline's
functions compute now with the pinned Pillow, and those functions are Pillow's defaults."""

import json

import numpy as np
from PIL import Image

from editmgt_export.pipeline import mask_grid, source_pixels
from editmgt_export.preprocess_goldens import OUT, PHOTOS, compute


def test_goldens_are_current():
    assert compute() == {
        k: v
        for k, v in json.loads((OUT / "index.json").read_text()).items()
        if k in ("resizes", "round_trips", "transparent", "masks")
    }


def test_source_pixels_use_bicubic_and_masks_lanczos():
    img = Image.open(PHOTOS / "chelsea.png")
    want = np.asarray(img.convert("RGB").resize((64, 64), Image.BICUBIC), np.float32) / 255
    np.testing.assert_array_equal(source_pixels(img, 64)[0].transpose(1, 2, 0), want)
    grey = np.asarray(img.convert("L").resize((16, 16), Image.LANCZOS), np.float32) / 255
    np.testing.assert_array_equal(mask_grid(img, (16, 16)), grey >= 0.5)
