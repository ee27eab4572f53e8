"""Golden fixtures for the engine's image pre-processing, made with the reference pipeline's own
functions (Pillow): the source resize to the model size and the result back to the original
size (bicubic), and the inpainting mask to the token grid (grayscale, Lanczos, 0.5).

Writes goldens/preprocess/: index.json (per case the sha256 of the input pixels and of Pillow's
output bytes, so the repository holds no image copies) and the mask images it draws.
Run: cd tools/export && .venv/bin/python -m editmgt_export.preprocess_goldens
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFilter

from .pipeline import mask_grid, source_pixels, to_original_size

REPO = Path(__file__).resolve().parents[3]
PHOTOS = REPO / "e2e" / "fixtures" / "photos"
OUT = REPO / "tools" / "export" / "goldens" / "preprocess"

# (photo, crop box or None, output (width, height)): model input (up), result back (down),
# odd sizes both ways, and a mixed one (one axis down, the other up)
RESIZES = [
    ("chelsea.png", None, (1024, 1024)),
    ("coffee.png", None, (1024, 1024)),
    ("astronaut.png", None, (1024, 1024)),
    ("chelsea.png", None, (97, 61)),
    ("coffee.png", None, (64, 64)),
    ("astronaut.png", None, (300, 700)),
    ("coffee.png", (210, 95, 250, 125), (123, 97)),
    ("chelsea.png", (100, 80, 113, 91), (512, 512)),
]
# result at model size back to the photo's size: the model-size image is the photo's own bicubic
# upsample, so the case needs no decoded output stored
ROUND_TRIPS = [("chelsea.png", 1024), ("coffee.png", 1024), ("astronaut.png", 64)]


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).hexdigest()


def _rgb(name: str, crop) -> Image.Image:
    img = Image.open(PHOTOS / name).convert("RGB")
    return img.crop(crop) if crop else img


def draw_masks() -> dict[str, Image.Image]:
    """Masks whose edges do not fall on the token grid: hard strokes, coloured strokes (grayscale
    matters), a soft-edged blob (the 0.5 threshold matters), a transparent-background stroke."""
    out = {}
    m = Image.new("RGB", (451, 300), "black")
    d = ImageDraw.Draw(m)
    d.ellipse((60, 40, 230, 190), fill="white")
    d.line((250, 250, 430, 30), fill="white", width=23)
    out["strokes"] = m
    c = Image.new("RGB", (333, 517), "black")
    d = ImageDraw.Draw(c)
    d.rectangle((20, 30, 150, 260), fill=(255, 40, 40))
    d.rectangle((170, 300, 320, 500), fill=(60, 255, 90))
    d.ellipse((40, 320, 160, 480), fill=(130, 130, 250))
    out["colours"] = c
    s = Image.new("L", (600, 400), 0)
    ImageDraw.Draw(s).ellipse((130, 90, 410, 330), fill=255)
    out["soft"] = s.filter(ImageFilter.GaussianBlur(23)).convert("RGB")
    t = Image.new("RGBA", (1000, 750), (0, 0, 0, 0))
    ImageDraw.Draw(t).polygon([(120, 90), (860, 140), (520, 690)], fill=(255, 255, 255, 255))
    out["transparent"] = t
    return out


def transparent_photo() -> Image.Image:
    """A photo crop with an alpha gradient and a fully transparent corner whose hidden colours
    are loud (Pillow's premultiplied RGBA resize must not let them bleed)."""
    rgb = np.asarray(_rgb("coffee.png", (180, 60, 340, 180)), dtype=np.uint8).copy()
    h, w = rgb.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    alpha = np.clip(255 * (x / (w - 1)) * 1.3, 0, 255).astype(np.uint8)
    alpha[(y < h // 3) & (x < w // 3)] = 0
    rgb[(y < h // 3) & (x < w // 3)] = [255, 0, 255]
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")


def compute() -> dict:
    resizes = []
    for name, crop, size in RESIZES:
        src = _rgb(name, crop)
        resized = src.resize(size)
        resizes.append(
            {
                "photo": name,
                "crop": list(crop) if crop else None,
                "size": list(size),
                "input_sha256": _sha(np.asarray(src)),
                "output_sha256": _sha(np.asarray(resized)),
            }
        )
    trips = []
    for name, res in ROUND_TRIPS:
        src = _rgb(name, None)
        pixels = source_pixels(src, res)
        model = Image.fromarray(np.round(pixels[0].transpose(1, 2, 0) * 255).astype(np.uint8))
        back = to_original_size(model, src.size)
        trips.append(
            {
                "photo": name,
                "resolution": res,
                "model_sha256": _sha(np.asarray(model)),
                "output_sha256": _sha(np.asarray(back)),
            }
        )
    rgba = Image.open(OUT / "transparent.png")
    transparent = []
    for res in (64, 1024):
        pixels = source_pixels(rgba, res)
        transparent.append(
            {
                "image": "transparent.png",
                "resolution": res,
                "model_sha256": _sha(np.round(pixels[0].transpose(1, 2, 0) * 255).astype(np.uint8)),
            }
        )
    masks = []
    for key, img in draw_masks().items():
        for grid in ((16, 16), (64, 64), (13, 21)):
            cells = mask_grid(img, grid)
            masks.append(
                {
                    "mask": f"mask_{key}.png",
                    "grid": list(grid),
                    "cells": "".join("1" if v else "0" for v in cells.reshape(-1)),
                }
            )
    return {"resizes": resizes, "round_trips": trips, "transparent": transparent, "masks": masks}


def write(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for key, img in draw_masks().items():
        img.save(out / f"mask_{key}.png")
    transparent_photo().save(out / "transparent.png")
    index = {
        "generated_by": {
            "command": "cd tools/export && .venv/bin/python -m editmgt_export.preprocess_goldens",
            "pillow": PIL.__version__,
            "functions": "editmgt_export.pipeline.source_pixels / to_original_size / mask_grid",
        },
        "notes": {
            "sha256": "over the RGB bytes, row-major (3 per pixel), of the input after crop and of Pillow's output",
            "resizes": "Image.resize default filter (bicubic); crop = PIL box (left, top, right, bottom)",
            "round_trips": "photo -> source_pixels at resolution (bicubic) -> x255 rounded -> to_original_size (bicubic)",
            "transparent": "transparent.png (RGBA) -> source_pixels (premultiplied bicubic resize, then RGB) -> x255",
            "masks": "mask_grid: convert('L'), Lanczos to the grid (width x height = grid[1] x grid[0]), >= 0.5; cells row-major",
        },
        **compute(),
    }
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    write()
    print(f"wrote {OUT}")
