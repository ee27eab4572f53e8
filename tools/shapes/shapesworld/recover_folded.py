"""The shapes checkpoint, read out of a package exported before graph templates (a one-off).

    git archive 61d6a59 public/models/shapes | tar -x -C /tmp/old
    tools/export/.venv/bin/python -m shapesworld.recover_folded --package /tmp/old/public/models/shapes --out DIR

The package the GPU run's export made (shipped until the package was exported again from the
checkpoint this reads) has the graph layout of the exporter's optimiser before templates: it
folded constants by value, so its fp32 graphs hold each checkpoint tensor either under its own
name (prefixed ``clip.``, ``lm.``, ``vq.``, ``transformer.``), or under the name the current
exporter gives the same value (``val_N``, the same numbering where the graphs agree), or folded
further. The folded ones, found by their place in the graph:

* Gemma's RMSNorm weights as ``1 + w`` (``add_N``), in the order the graph uses them; ``w`` comes
  back as ``(1 + w) − 1`` in float32, which the new graph's ``1 + w`` turns into the old value
  exactly (Sterbenz);
* the VQ group norms' weights and biases reshaped to ``[C, 1, 1]``, in graph order, weight
  (``Mul``) before bias (``Add``);
* the codebook projection's 1×1 convolution as a ``[128, 512]`` matrix under another ``val_N``.

Each value then goes back through the current fp32 weight maps, as in ``recover``. What the old
graphs computed from weights (the reference branch's t = 0 time embedding, the rope tables, the
codebook distances' norms) is left aside: the new graphs compute it themselves. The result is
byte for byte the checkpoint ``recover`` reads from the re-exported package.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .recover import GRAPHS, TEMPLATES, RecoverError, map_entries, recover, scatter

PREFIX = {
    "text_clip": "clip.",
    "text_llm": "lm.",
    "vq_encode": "vq.",
    "vq_decode": "vq.",
    "transformer_step": "transformer.",
}


def _first_use(model) -> dict[str, tuple[int, str]]:
    first: dict[str, tuple[int, str]] = {}
    for i, n in enumerate(model.graph.node):
        for x in n.input:
            first.setdefault(x, (i, n.op_type))
    return first


def read_folded(package: Path, templates: Path, shapes: dict) -> dict:
    import onnx
    from onnx import numpy_helper

    pairs = []
    for graph in GRAPHS:
        model = onnx.load(str(package / "fp32" / f"{graph}.onnx"))
        old = {t.name: numpy_helper.to_array(t, base_dir=str(package / "fp32")) for t in model.graph.initializer}
        first = _first_use(model)
        used, missing = set(), []
        for e in map_entries(templates, graph):
            if e["encoding"]["type"] == "token_rows":  # Gemma's table, out of the graph already
                table = np.fromfile(package / "fp32" / e["place"]["file"], dtype="<f4").reshape(e["shape"])
                pairs.append((graph, e, table))
                continue
            hit = [n for n in (e["name"], PREFIX[graph] + e["name"]) if n in old and list(old[n].shape) == e["shape"]]
            if hit:
                used.add(hit[0])
                pairs.append((graph, e, old[hit[0]]))
            else:
                missing.append(e)
        rest = [n for n, v in old.items() if n not in used and v.dtype == np.float32 and v.size >= 16]
        if graph == "text_llm":
            folded = sorted((n for n in rest if n.startswith("add_")), key=lambda n: first[n][0])
            values = [(old[n] - np.float32(1)).astype(np.float32) for n in folded]
        elif graph in ("vq_encode", "vq_decode"):
            folded = sorted(
                (
                    n
                    for n in rest
                    if old[n].ndim == 3 and old[n].shape[1:] == (1, 1) and first.get(n, (0, ""))[1] in ("Mul", "Add")
                ),
                key=lambda n: first[n][0],
            )
            for e, n in zip(missing, folded):
                kind = "Mul" if e["sources"][0]["tensor"].endswith(".weight") else "Add"
                if first[n][1] != kind or list(old[n].shape) != e["shape"]:
                    raise RecoverError(f"fp32/{graph}: {n} is not {e['name']} ({first[n][1]}, {list(old[n].shape)})")
            values = [old[n] for n in folded]
        else:
            folded = [n for n in rest if missing and list(old[n].shape) == missing[0]["shape"]]
            values = [old[n] for n in folded]
        if len(folded) != len(missing):
            raise RecoverError(
                f"fp32/{graph}: {len(missing)} weights not found by name ({[e['name'] for e in missing][:4]}), "
                f"{len(folded)} folded candidates ({folded[:4]})"
            )
        pairs += [(graph, e, v) for e, v in zip(missing, values)]
    return scatter(pairs, shapes)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", type=Path, required=True, help="a shapes package exported before templates")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--templates", type=Path, default=TEMPLATES)
    a = ap.parse_args(argv)
    try:
        recover(a.out, a.package, a.templates, reader=read_folded)
    except RecoverError as e:
        raise SystemExit(f"recover_folded: {e}") from None


if __name__ == "__main__":
    main()
