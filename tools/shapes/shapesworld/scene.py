"""Scenes of flat shapes on plain, gradient or textured backgrounds, rendered exactly.

A scene is pure data (``Scene``); ``render`` turns it into a 128×128 RGB uint8 array and the
per-shape coverage masks. Shapes are drawn at 4× and box-filtered down, so edges are
anti-aliased but rendering stays bit-exact for the same scene on any machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

SIZE = 128
SUPERSAMPLE = 4

SHAPE_COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "purple": (140, 60, 190),
    "orange": (245, 140, 30),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
}
BACKGROUND_COLOURS = {
    "white": (250, 250, 250),
    "gray": (150, 150, 150),
    "beige": (235, 220, 190),
    "light blue": (170, 210, 245),
    "light green": (185, 235, 180),
    "pink": (250, 190, 210),
    "navy": (25, 35, 90),
    "dark gray": (60, 60, 60),
}
# Shape colours that would vanish on a background colour.
CLASHES = {
    "white": {"white", "beige"},
    "black": {"navy", "dark gray"},
    "blue": {"navy"},
    "purple": {"navy"},
    "yellow": {"beige"},
    "green": {"light green"},
}
SHAPES = ("circle", "square", "triangle", "star", "diamond", "hexagon", "cross")
SIZES = {"small": 10, "medium": 15, "large": 21}  # half-extent in px at 128
BACKGROUND_KINDS = ("plain", "gradient", "stripes", "checkerboard", "dots")
STYLES = ("grayscale", "posterize", "pencil sketch", "invert", "sepia")


@dataclass(frozen=True)
class Shape:
    kind: str
    colour: str
    size: str
    x: float  # centre, px
    y: float
    outline: bool = False

    @property
    def radius(self) -> int:
        return SIZES[self.size]

    def moved(self, **kw) -> Shape:
        return replace(self, **kw)


@dataclass(frozen=True)
class Background:
    kind: str
    colour: str  # main colour
    colour2: str = ""  # second colour (gradient end, stripes, checker, dots)


@dataclass(frozen=True)
class Scene:
    background: Background
    shapes: tuple[Shape, ...] = field(default_factory=tuple)
    style: str = ""


def _polygon(kind: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if kind == "square":
        s = r * 0.9
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if kind == "triangle":
        return [
            (cx + r * math.cos(a), cy + r * 1.05 * math.sin(a) + r * 0.15)
            for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)
        ]
    if kind == "diamond":
        return [(cx, cy - r), (cx + r * 0.8, cy), (cx, cy + r), (cx - r * 0.8, cy)]
    if kind == "hexagon":
        return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in np.arange(6) * math.pi / 3]
    if kind == "star":
        pts = []
        for i in range(10):
            rr = r if i % 2 == 0 else r * 0.45
            a = -math.pi / 2 + i * math.pi / 5
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        return pts
    if kind == "cross":
        a, b = r, r * 0.36
        return [
            (cx - b, cy - a),
            (cx + b, cy - a),
            (cx + b, cy - b),
            (cx + a, cy - b),
            (cx + a, cy + b),
            (cx + b, cy + b),
            (cx + b, cy + a),
            (cx - b, cy + a),
            (cx - b, cy + b),
            (cx - a, cy + b),
            (cx - a, cy - b),
            (cx - b, cy - b),
        ]
    raise ValueError(f"unknown shape {kind!r}")


def shape_coverage(shape: Shape, outline_only: bool = False) -> np.ndarray:
    """Anti-aliased coverage [SIZE, SIZE] float32 in [0, 1] (the outline ring when outline_only)."""
    big = Image.new("L", (SIZE * SUPERSAMPLE,) * 2, 0)
    draw = ImageDraw.Draw(big)
    s = SUPERSAMPLE
    cx, cy, r = shape.x * s, shape.y * s, shape.radius * s
    width = 2 * s if outline_only else 0
    fill = None if outline_only else 255
    outline = 255 if outline_only else None
    if shape.kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill, outline=outline, width=width)
    else:
        draw.polygon(_polygon(shape.kind, cx, cy, r), fill=fill, outline=outline, width=width)
    small = big.resize((SIZE, SIZE), Image.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def render_background(bg: Background) -> np.ndarray:
    c1 = np.array(BACKGROUND_COLOURS[bg.colour], np.float32)
    c2 = np.array(BACKGROUND_COLOURS[bg.colour2], np.float32) if bg.colour2 else c1
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    if bg.kind == "plain":
        w = np.zeros_like(xx)
    elif bg.kind == "gradient":
        w = yy / (SIZE - 1)
    elif bg.kind == "stripes":
        w = (((xx + yy) // 16) % 2).astype(np.float32)
    elif bg.kind == "checkerboard":
        w = (((xx // 16) + (yy // 16)) % 2).astype(np.float32)
    elif bg.kind == "dots":
        d = np.hypot((xx % 16) - 7.5, (yy % 16) - 7.5)
        w = np.clip(3.5 - d, 0, 1)  # c2 dots on c1
    else:
        raise ValueError(f"unknown background {bg.kind!r}")
    return c1 * (1 - w[..., None]) + c2 * w[..., None]


def apply_style(img: np.ndarray, style: str) -> np.ndarray:
    pil = Image.fromarray(img)
    if style == "grayscale":
        out = ImageOps.grayscale(pil).convert("RGB")
    elif style == "posterize":
        out = ImageOps.posterize(pil, 2)
    elif style == "invert":
        out = ImageOps.invert(pil)
    elif style == "sepia":
        g = np.asarray(ImageOps.grayscale(pil), np.float32)[..., None]
        return (
            np.clip(g * np.array([1.07, 0.74, 0.43], np.float32) + np.array([30, 20, 5], np.float32), 0, 255)
            .round()
            .astype(np.uint8)
        )
    elif style == "pencil sketch":
        gray = np.asarray(ImageOps.grayscale(pil), np.float32)
        blur = np.asarray(ImageOps.invert(ImageOps.grayscale(pil)).filter(ImageFilter.GaussianBlur(3)), np.float32)
        dodge = np.clip(gray * 255.0 / np.maximum(255.0 - blur, 1.0), 0, 255)
        edges = np.asarray(ImageOps.grayscale(pil).filter(ImageFilter.FIND_EDGES), np.float32)
        sketch = np.clip(dodge - 1.5 * edges, 0, 255).round().astype(np.uint8)
        return np.repeat(sketch[..., None], 3, axis=2)
    else:
        raise ValueError(f"unknown style {style!r}")
    return np.asarray(out, np.uint8)


def render(scene: Scene) -> np.ndarray:
    """RGB uint8 [SIZE, SIZE, 3]."""
    img = render_background(scene.background)
    for shape in scene.shapes:
        a = shape_coverage(shape)[..., None]
        img = img * (1 - a) + np.array(SHAPE_COLOURS[shape.colour], np.float32) * a
        if shape.outline:
            o = shape_coverage(shape, outline_only=True)[..., None]
            edge = (25, 25, 25) if shape.colour != "black" else (245, 245, 245)
            img = img * (1 - o) + np.array(edge, np.float32) * o
    img = np.clip(img, 0, 255).round().astype(np.uint8)
    return apply_style(img, scene.style) if scene.style else img


def shapes_mask(shapes) -> np.ndarray:
    """Union of the shapes' coverage (incl. outline), bool [SIZE, SIZE]."""
    m = np.zeros((SIZE, SIZE), bool)
    for s in shapes:
        m |= shape_coverage(s) > 0
        if s.outline:
            m |= shape_coverage(s, outline_only=True) > 0
    return m
