"""Random scenes and the seven edit kinds, each with instruction paraphrases.

``make_pair(rng, kind)`` returns an ``EditPair``: source and target scenes (rendered exactly
by ``scene.render``), the instruction, and the ground-truth edit-region mask (the pixels the edit
may change: the affected shapes, dilated by one pixel, plus every pixel that actually differs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from .scene import (
    BACKGROUND_COLOURS,
    BACKGROUND_KINDS,
    CLASHES,
    SHAPE_COLOURS,
    SHAPES,
    SIZE,
    SIZES,
    STYLES,
    Background,
    Scene,
    Shape,
    render,
    shapes_mask,
)

KINDS = ("add", "remove", "replace", "attribute", "size_position", "background", "style")
MARGIN = 3
GAP = 5


@dataclass
class EditPair:
    kind: str
    instruction: str
    source: Scene
    target: Scene
    source_image: np.ndarray  # uint8 [128,128,3]
    target_image: np.ndarray
    mask: np.ndarray  # bool [128,128], True inside the edit region


def _pick(rng: np.random.Generator, options):
    options = list(options)
    return options[int(rng.integers(len(options)))]


def _fits(shape: Shape, others) -> bool:
    r = shape.radius
    if not (r + MARGIN <= shape.x <= SIZE - r - MARGIN and r + MARGIN <= shape.y <= SIZE - r - MARGIN):
        return False
    return all(np.hypot(shape.x - o.x, shape.y - o.y) > r + o.radius + GAP for o in others)


def _allowed_colours(bg: Background, taken: set[tuple[str, str]], kind: str):
    bad = {bg.colour, bg.colour2}
    return [c for c in SHAPE_COLOURS if not (CLASHES.get(c, set()) & bad) and (kind, c) not in taken]


def random_background(rng, exclude: Background | None = None) -> Background:
    while True:
        kind = _pick(rng, BACKGROUND_KINDS)
        colours = list(BACKGROUND_COLOURS)
        c1 = _pick(rng, colours)
        c2 = "" if kind == "plain" else _pick(rng, [c for c in colours if c != c1])
        bg = Background(kind, c1, c2)
        if bg != exclude:
            return bg


def random_shape(rng, scene_shapes, bg: Background, tries: int = 60, **fixed) -> Shape | None:
    taken = {(s.kind, s.colour) for s in scene_shapes}
    for _ in range(tries):
        kind = fixed.get("kind") or _pick(rng, SHAPES)
        colours = _allowed_colours(bg, taken, kind)
        if not colours:
            continue
        size = fixed.get("size") or _pick(rng, SIZES)
        r = SIZES[size]
        x, y = rng.uniform(r + MARGIN, SIZE - r - MARGIN, size=2)
        shape = Shape(
            kind,
            fixed.get("colour") or _pick(rng, colours),
            size,
            round(float(x), 1),
            round(float(y), 1),
            outline=bool(rng.random() < 0.15),
        )
        if _fits(shape, scene_shapes):
            return shape
    return None


def random_scene(rng, n_min: int = 1, n_max: int = 4) -> Scene:
    bg = random_background(rng)
    shapes: list[Shape] = []
    for _ in range(int(rng.integers(n_min, n_max + 1))):
        s = random_shape(rng, shapes, bg)
        if s is not None:
            shapes.append(s)
    return Scene(bg, tuple(shapes))


# ---- words ------------------------------------------------------------------------------------
def where(x: float, y: float) -> str:
    col = "left" if x < SIZE / 3 else "right" if x > 2 * SIZE / 3 else ""
    row = "top" if y < SIZE / 3 else "bottom" if y > 2 * SIZE / 3 else ""
    if row and col:
        return f"{row} {col}"
    return row or col or "center"


def place(x: float, y: float) -> str:
    """Prepositional phrase for a position: 'at the top left', 'on the left', 'in the center'."""
    w = where(x, y)
    if w == "center":
        return "in the center"
    return f"on the {w}" if w in ("left", "right") else f"at the {w}"


def describe_background(bg: Background) -> str:
    if bg.kind == "plain":
        return f"a plain {bg.colour} background"
    if bg.kind == "gradient":
        return f"a {bg.colour} to {bg.colour2} gradient background"
    if bg.kind == "stripes":
        return f"a {bg.colour} and {bg.colour2} striped background"
    if bg.kind == "checkerboard":
        return f"a {bg.colour} and {bg.colour2} checkerboard background"
    return f"a {bg.colour} background with {bg.colour2} dots"


def describe_shape(s: Shape, with_size: bool = True) -> str:
    words = ([s.size] if with_size else []) + ([s.colour] + (["outlined"] if s.outline else []) + [s.kind])
    return " ".join(words)


def caption(scene: Scene) -> str:
    """Text for the text-to-image stage."""
    if scene.shapes:
        parts = [f"{_a(describe_shape(s))} {place(s.x, s.y)}" for s in scene.shapes]
        body = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
        text = f"{body} on {describe_background(scene.background)}"
    else:
        text = f"an empty scene with {describe_background(scene.background)}"
    return f"a {scene.style} image of {text}" if scene.style else text


def refer(s: Shape, scene: Scene, rng) -> str:
    """A referring expression that picks out ``s`` uniquely."""
    same_kind = sum(o.kind == s.kind for o in scene.shapes)
    options = [f"the {s.colour} {s.kind}"]
    if same_kind == 1:
        options.append(f"the {s.kind}")
    return _pick(rng, options)


ARTICLE = {True: "an", False: "a"}


def _a(word: str) -> str:
    return ARTICLE[word[0] in "aeiou"] + " " + word


# ---- edit kinds -------------------------------------------------------------------------------
def _edit_add(rng, src: Scene):
    if len(src.shapes) >= 4:
        src = Scene(src.background, src.shapes[:3])
    new = random_shape(rng, src.shapes, src.background)
    if new is None:
        return None
    new = new.moved(outline=False)
    desc = _pick(rng, [describe_shape(new), describe_shape(new, with_size=False)])
    pos = place(new.x, new.y)
    instr = _pick(
        rng, [f"add {_a(desc)} {pos}", f"put {_a(desc)} {pos}", f"draw {_a(desc)} {pos}", f"place {_a(desc)} {pos}"]
    )
    return src, Scene(src.background, src.shapes + (new,)), instr, [new]


def _edit_remove(rng, src: Scene):
    if not src.shapes:
        return None
    victim = src.shapes[int(rng.integers(len(src.shapes)))]
    ref = refer(victim, src, rng)
    instr = _pick(rng, [f"remove {ref}", f"delete {ref}", f"take away {ref}", f"get rid of {ref}", f"erase {ref}"])
    return src, Scene(src.background, tuple(s for s in src.shapes if s != victim)), instr, [victim]


def _edit_replace(rng, src: Scene):
    if not src.shapes:
        return None
    old = src.shapes[int(rng.integers(len(src.shapes)))]
    others = [s for s in src.shapes if s != old]
    kinds = [k for k in SHAPES if k != old.kind and (k, old.colour) not in {(s.kind, s.colour) for s in others}]
    new = old.moved(kind=_pick(rng, kinds))
    ref = refer(old, src, rng)
    instr = _pick(
        rng,
        [
            f"replace {ref} with {_a(new.kind)}",
            f"turn {ref} into {_a(new.kind)}",
            f"change {ref} to {_a(new.kind)}",
            f"make {ref} {_a(new.kind)}",
        ],
    )
    tgt = Scene(src.background, tuple(new if s == old else s for s in src.shapes))
    return src, tgt, instr, [old, new]


def _edit_attribute(rng, src: Scene):
    if not src.shapes:
        return None
    old = src.shapes[int(rng.integers(len(src.shapes)))]
    others = [s for s in src.shapes if s != old]
    ref = refer(old, src, rng)
    if not old.outline and rng.random() < 0.2:
        new = old.moved(outline=True)
        instr = _pick(rng, [f"add an outline to {ref}", f"give {ref} a dark outline", f"outline {ref}"])
    else:
        colours = [
            c
            for c in _allowed_colours(src.background, {(s.kind, s.colour) for s in others}, old.kind)
            if c != old.colour
        ]
        if not colours:
            return None
        c = _pick(rng, colours)
        new = old.moved(colour=c)
        instr = _pick(
            rng,
            [
                f"make {ref} {c}",
                f"change the colour of {ref} to {c}",
                f"paint {ref} {c}",
                f"color {ref} {c}",
                f"recolor {ref} to {c}",
            ],
        )
    tgt = Scene(src.background, tuple(new if s == old else s for s in src.shapes))
    return src, tgt, instr, [old, new]


MOVES = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def _edit_size_position(rng, src: Scene):
    if not src.shapes:
        return None
    old = src.shapes[int(rng.integers(len(src.shapes)))]
    others = [s for s in src.shapes if s != old]
    ref = refer(old, src, rng)
    sizes = list(SIZES)
    options = []
    i = sizes.index(old.size)
    if i + 1 < len(sizes):
        options.append(("bigger", old.moved(size=sizes[i + 1])))
    if i > 0:
        options.append(("smaller", old.moved(size=sizes[i - 1])))
    step = float(rng.uniform(24, 40))
    for name, (dx, dy) in MOVES.items():
        options.append((name, old.moved(x=round(old.x + dx * step, 1), y=round(old.y + dy * step, 1))))
    options = [(n, s) for n, s in options if _fits(s, others)]
    if not options:
        return None
    name, new = _pick(rng, options)
    if name == "bigger":
        instr = _pick(
            rng, [f"make {ref} bigger", f"enlarge {ref}", f"make {ref} larger", f"increase the size of {ref}"]
        )
    elif name == "smaller":
        instr = _pick(rng, [f"make {ref} smaller", f"shrink {ref}", f"reduce the size of {ref}"])
    else:
        instr = _pick(
            rng,
            [
                f"move {ref} {name}",
                f"move {ref} to the {name}" if name in ("left", "right") else f"move {ref} {name}wards",
                f"shift {ref} {name}",
                f"push {ref} a bit {name}",
            ],
        )
    tgt = Scene(src.background, tuple(new if s == old else s for s in src.shapes))
    return src, tgt, instr, [old, new]


def _edit_background(rng, src: Scene):
    bg = random_background(rng, exclude=src.background)
    # keep every shape visible on the new background
    if any(CLASHES.get(s.colour, set()) & {bg.colour, bg.colour2} for s in src.shapes):
        return None
    d = describe_background(bg)
    short = d.removeprefix("a ").replace(" background", "")
    instr = _pick(
        rng,
        [
            f"change the background to {d}",
            f"make the background {short}",
            f"replace the background with {d}",
            f"use {d}",
        ],
    )
    return src, Scene(bg, src.shapes), instr, "background"


STYLE_WORDS = {
    "grayscale": ["make it grayscale", "convert it to black and white", "remove all the colour", "make it gray"],
    "posterize": ["posterize the image", "posterize it", "reduce the number of colours", "make it look posterized"],
    "pencil sketch": [
        "make it a pencil sketch",
        "turn it into a pencil drawing",
        "draw it as a sketch",
        "make it look like a pencil sketch",
    ],
    "invert": ["invert the colours", "make it a negative", "invert the image", "invert the colors"],
    "sepia": ["make it sepia", "give it an old photo look", "apply a sepia tone", "make it look like an old photo"],
}


def _edit_style(rng, src: Scene):
    style = _pick(rng, STYLES)
    return src, Scene(src.background, src.shapes, style), _pick(rng, STYLE_WORDS[style]), "all"


EDITS = {
    "add": _edit_add,
    "remove": _edit_remove,
    "replace": _edit_replace,
    "attribute": _edit_attribute,
    "size_position": _edit_size_position,
    "background": _edit_background,
    "style": _edit_style,
}


def _dilate(mask: np.ndarray, px: int) -> np.ndarray:
    img = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(img.filter(ImageFilter.MaxFilter(2 * px + 1))) > 0


def edit_mask(src: Scene, tgt: Scene, src_img: np.ndarray, tgt_img: np.ndarray, region) -> np.ndarray:
    if isinstance(region, str) and region == "all":
        return np.ones((SIZE, SIZE), bool)
    if isinstance(region, str) and region == "background":
        semantic = ~shapes_mask(src.shapes)
    else:
        semantic = _dilate(shapes_mask(region), 1)
    changed = np.any(src_img != tgt_img, axis=2)
    return semantic | _dilate(changed, 1)


def make_pair(rng: np.random.Generator, kind: str) -> EditPair:
    """One edit pair of ``kind``; retries with fresh scenes until the edit applies."""
    while True:
        n_min = 0 if kind == "add" else 1
        made = EDITS[kind](rng, random_scene(rng, n_min=n_min))
        if made is None:
            continue
        src, tgt, instr, region = made
        si, ti = render(src), render(tgt)
        if np.array_equal(si, ti):
            continue
        return EditPair(kind, instr, src, tgt, si, ti, edit_mask(src, tgt, si, ti, region))
