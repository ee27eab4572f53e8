"""The evaluation figure: one row per edit kind — source | instruction | attention | result | target.

    tools/export/.venv/bin/python -m shapesworld.figure --report EVAL.json --images DIR --testset DIR --out PNG

``EVAL.json`` and ``DIR`` come from ``npm run eval:shapes -- --json EVAL.json --images DIR`` (the
result is the app's output: the package's default region-hold (off, or its λ), composited; the
attention map is the step-averaged consolidated map of the run without region-hold). Takes the
first pair of each kind.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CELL = 128
TEXT_W = 180
PAD = 6
HEADER = 22
COLUMNS = ("source", "instruction", "attention", "result", "target")


def build(report: dict, images: Path, testset: Path) -> Image.Image:
    index = {e["id"]: e for e in json.loads((testset / "index.json").read_text())["pairs"]}
    rows, seen = [], set()
    for r in report["pairs"]:
        if r["kind"] not in seen:
            seen.add(r["kind"])
            rows.append(r)
    widths = [CELL, TEXT_W, CELL, CELL, CELL]
    width = sum(widths) + PAD * (len(widths) + 1)
    height = HEADER + len(rows) * (CELL + PAD) + PAD
    fig = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(fig)
    font = ImageFont.load_default(size=13)
    x = PAD
    for name, w in zip(COLUMNS, widths):
        draw.text((x, 4), name, fill="black", font=font)
        x += w + PAD
    for i, r in enumerate(rows):
        e = index[r["id"]]
        y = HEADER + i * (CELL + PAD)
        tiles = [
            Image.open(testset / e["source"]),
            None,
            Image.open(images / f"{r['id']}_attention.png"),
            Image.open(images / f"{r['id']}_result.png"),
            Image.open(testset / e["target"]),
        ]
        x = PAD
        for tile, w in zip(tiles, widths):
            if tile is None:
                text = f"[{r['kind']}]\n" + "\n".join(textwrap.wrap(f"\u201c{r['instruction']}\u201d", 24))
                draw.multiline_text((x, y + 4), text, fill="black", font=font, spacing=3)
            else:
                fig.paste(tile.convert("RGB").resize((CELL, CELL), Image.NEAREST), (x, y))
            x += w + PAD
    return fig


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", type=Path, required=True)
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--testset", type=Path, default=Path(__file__).resolve().parents[1] / "testset")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    build(json.loads(a.report.read_text()), a.images, a.testset).save(a.out, optimize=True)
    print(a.out)


if __name__ == "__main__":
    main()
