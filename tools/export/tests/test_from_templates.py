"""``python -m editmgt_export from-templates``: a checkpoint → a whole package from the shipped
templates, with numpy and onnxruntime only. Each conversion runs in a subprocess in which torch
cannot be imported (``sys.modules['torch'] = None``), and reports which of onnx, transformers,
diffusers and tokenizers it imported (none may be).

- The tiny checkpoint in every hub layout (``editmgt_export.layouts``, the project's random
  checkpoint builder) with templates/tiny-random: single, sharded, variant, tied and vocab-merges
  give public/models/tiny-random in all five dtypes, every graph, chunk, table and tokenizer file
  byte for byte, and the manifest byte for byte once ``generator`` and ``codebook_colors`` are set
  to the shipped ones, apart from what names the source (``source.revision``, the content hash of
  the checkpoint folder, which differs for every layout but single; for vocab-merges its own
  tokenizer_config.json, copied as the checkpoint has it, with its size and sha256);
  ``codebook_colors`` (the converted fp32 vq_decode on onnxruntime) within 1e-5 of the exporter's
  (torch's convolutions; both rounded to 6 decimals: float32 sums in another order).
- bf16 and variant-only (fp16 files alone) give the package of ``rounded`` (the same values in
  float32), byte for byte but for ``source.revision``.
- The shapes checkpoint (``shapesworld.recover``, read back from the shipped package) with
  templates/shapes alone is public/models/shapes: every file and no other (q8's and q4's VQ graphs
  are fp32's, written once; the domain's example pictures are copied from the templates), and the
  manifest once ``generator`` and ``codebook_colors`` (within 1e-5) are set to the shipped ones.
- Bad input (a missing tensor, a wrong shape, a NaN, a config that is not the templates', a
  pickle-only folder) exits 2 with one line naming the tensor or field, and leaves nothing at
  --out (an existing package there is kept as it was) and no temporary folder beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
EXPORT = REPO / "tools" / "export"
TINY = REPO / "public" / "models" / "tiny-random"
SHAPES = REPO / "public" / "models" / "shapes"
DTYPES = ["fp32", "fp16", "q4", "q4f16", "q8"]
SOURCE_ID = "editmgt_export tiny --seed 0"
# codebook colours in [0, 1]: torch's and onnxruntime's float32 convolutions and the means sum in
# other orders, then both round to 6 decimals (1e-6 apart measured here); 1e-5 is still 400 times
# finer than one 8-bit step of a colour
COLOR_TOLERANCE = 1e-5

# runs the CLI with torch made unimportable; prints which heavy libraries were imported
NO_TORCH = """
import json, sys
sys.modules["torch"] = None
from editmgt_export.__main__ import main
rc = main(sys.argv[1:])
heavy = [m for m in ("torch", "onnx", "transformers", "diffusers", "tokenizers") if sys.modules.get(m) is not None]
print("IMPORTED " + json.dumps(heavy), file=sys.stderr)
sys.exit(rc)
"""


def convert(source: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            NO_TORCH,
            "from-templates",
            "--source",
            str(source),
            "--out",
            str(out),
            "--quiet",
            *args,
        ],
        cwd=EXPORT,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    imported = [line for line in run.stderr.splitlines() if line.startswith("IMPORTED ")]
    assert imported == ["IMPORTED []"], run.stderr
    return run


def converted(source: Path, out: Path, *args: str) -> None:
    run = convert(source, out, *args)
    assert run.returncode == 0, run.stderr


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def nothing_left(out: Path) -> None:
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if ".converting-" in p.name] == []


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=1) + "\n"


def colors_apart(a: dict, b: dict) -> float:
    x, y = np.asarray(a["codebook_colors"]), np.asarray(b["codebook_colors"])
    assert x.shape == y.shape
    return float(np.abs(x - y).max())


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("from-templates")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def layouts(work):
    from editmgt_export.layouts import write_layouts

    names = ("single", "sharded", "variant", "tied", "vocab-merges", "rounded", "bf16", "variant-only", "bin-only")
    return write_layouts(work / "layouts", 0, names)


@pytest.mark.parametrize("layout", ["single", "sharded", "variant", "tied", "vocab-merges"])
def test_every_layout_gives_the_shipped_tiny_package(layouts, work, layout):
    out = work / f"pkg-{layout}"
    converted(layouts[layout], out, "--dtype", ",".join(DTYPES), "--name", "tiny-random", "--source-id", SOURCE_ID)
    files = files_under(TINY)
    # the model card is on by default (README.md, NOTICE), outside the manifest's files
    assert files_under(out) == sorted([*files, "NOTICE", "README.md"])
    own = ["tokenizer_clip/tokenizer_config.json"] if layout == "vocab-merges" else []
    differing = [f for f in files if f != "manifest.json" and (out / f).read_bytes() != (TINY / f).read_bytes()]
    assert differing == own
    for f in own:
        assert (out / f).read_bytes() == (layouts[layout] / "tokenizer" / "tokenizer_config.json").read_bytes()

    ours = json.loads((out / "manifest.json").read_text())
    theirs = json.loads((TINY / "manifest.json").read_text())
    assert colors_apart(ours, theirs) <= COLOR_TOLERANCE
    assert ours["generator"] == {"tool": "editmgt_export 0.1.0 (from templates)"}
    ours["generator"], ours["codebook_colors"] = theirs["generator"], theirs["codebook_colors"]
    if layout == "single":
        assert ours["source"] == theirs["source"]
    ours["source"]["revision"] = theirs["source"]["revision"]
    for f in own:
        entry = next(e for e in ours["files"] if e["path"] == f)
        shipped = next(e for e in theirs["files"] if e["path"] == f)
        entry.update(bytes=shipped["bytes"], sha256=shipped["sha256"])
    assert manifest_text(ours) == (TINY / "manifest.json").read_text()
    # the card speaks of this package
    assert '"tiny-random"' in (out / "README.md").read_text() or "tiny-random" in (out / "README.md").read_text()


def test_bf16_and_fp16_only_checkpoints_give_the_package_of_their_float32_values(layouts, work):
    rounded = work / "pkg-rounded"
    converted(layouts["rounded"], rounded, "--dtype", ",".join(DTYPES), "--no-card")
    for layout in ("bf16", "variant-only"):
        out = work / f"pkg-{layout}"
        converted(layouts[layout], out, "--dtype", ",".join(DTYPES), "--no-card", "--name", "pkg-rounded")
        files = files_under(rounded)
        assert files_under(out) == files
        differing = [f for f in files if f != "manifest.json" and (out / f).read_bytes() != (rounded / f).read_bytes()]
        assert differing == []
        ours = json.loads((out / "manifest.json").read_text())
        ours["source"] = json.loads((rounded / "manifest.json").read_text())["source"]
        assert manifest_text(ours) == (rounded / "manifest.json").read_text()


@pytest.fixture(scope="module")
def shapes_checkpoint(work):
    ckpt = work / "shapes-checkpoint"
    subprocess.run(
        [sys.executable, "-m", "shapesworld.recover", "--out", str(ckpt)],
        cwd=REPO / "tools" / "shapes",
        check=True,
        capture_output=True,
    )
    return ckpt


def test_the_shapes_checkpoint_gives_the_shipped_shapes_package(work, shapes_checkpoint):
    ckpt = shapes_checkpoint
    theirs = json.loads((SHAPES / "manifest.json").read_text())
    out = work / "pkg-shapes"
    converted(
        ckpt, out, "--dtype", "fp32,q8,q4", "--name", "shapes", "--source-id", theirs["source"]["id"], "--no-card"
    )
    ours = json.loads((out / "manifest.json").read_text())
    files = [f["path"] for f in theirs["files"]]
    assert [f["path"] for f in ours["files"]] == files
    assert files_under(out) == sorted([*files, "manifest.json"])
    assert [f for f in files if (out / f).read_bytes() != (SHAPES / f).read_bytes()] == []
    assert colors_apart(ours, theirs) <= COLOR_TOLERANCE
    ours["generator"], ours["codebook_colors"] = theirs["generator"], theirs["codebook_colors"]
    assert manifest_text(ours) == (SHAPES / "manifest.json").read_text()

    # the shapes packager's own finishing step (for its exporter's packages) changes nothing here
    before = {f: (out / f).read_bytes() for f in files_under(out)}
    subprocess.run(
        [sys.executable, "-m", "shapesworld.package", "--finish", "--out", str(out)],
        cwd=REPO / "tools" / "shapes",
        check=True,
        capture_output=True,
    )
    assert {f: (out / f).read_bytes() for f in files_under(out)} == before


def test_a_dtype_alone_gets_the_graphs_it_shares(work, shapes_checkpoint):
    """q8 alone: its VQ graphs are fp32's files (as the templates' manifest says), written from
    fp32's templates, with the shipped bytes; the example pictures come too."""
    out = work / "pkg-shapes-q8"
    converted(shapes_checkpoint, out, "--dtype", "q8", "--name", "shapes", "--no-card")
    ours = json.loads((out / "manifest.json").read_text())
    assert list(ours["dtypes"]) == ["q8"]
    files = [f["path"] for f in ours["files"]]
    assert files_under(out) == sorted([*files, "manifest.json"])
    shared = ["fp32/vq_decode.onnx", "fp32/vq_decode.onnx.data", "fp32/vq_encode.onnx", "fp32/vq_encode.onnx.data"]
    assert [f for f in files if f.startswith("fp32/")] == shared
    assert files[-4:] == [e["path"] for e in ours["domain"]["examples"]]
    assert [f for f in files if (out / f).read_bytes() != (SHAPES / f).read_bytes()] == []
    shutil.rmtree(out)


def test_a_carried_file_that_is_not_the_listed_one_is_refused(work, shapes_checkpoint):
    """An example picture of the templates changed after their manifest was written: refused,
    naming the file, and nothing is left at --out."""
    templates = work / "templates-changed-example"
    shutil.copytree(REPO / "templates" / "shapes", templates)
    picture = templates / "examples" / "test_00003.png"
    data = bytearray(picture.read_bytes())
    data[-1] ^= 1
    picture.write_bytes(bytes(data))
    out = work / "bad" / "pkg-changed-example"
    out.parent.mkdir(exist_ok=True)
    run = convert(shapes_checkpoint, out, "--dtype", "q4", "--templates", str(templates), "--no-card")
    assert run.returncode == 2, run.stderr
    assert "examples/test_00003.png is not the file the templates' manifest lists" in run.stderr
    nothing_left(out)
    shutil.rmtree(templates)


def _damaged(layouts, work, damage: str) -> Path:
    from safetensors.numpy import load_file, save_file

    bad = work / f"ckpt-{damage}"
    shutil.rmtree(bad, ignore_errors=True)
    shutil.copytree(layouts["single"], bad)
    path = bad / "text_encoder" / "model.safetensors"
    tensors = load_file(str(path))
    name = "text_model.final_layer_norm.weight"
    if damage == "missing":
        del tensors[name]
    elif damage == "shape":
        tensors[name] = tensors[name][:-1].copy()
    elif damage == "nan":
        tensors[name] = tensors[name].copy()
        tensors[name][3] = np.nan
    if damage == "config":
        config = json.loads((bad / "editmgt" / "config.json").read_text())
        config["num_single_layers"] += 1
        (bad / "editmgt" / "config.json").write_text(json.dumps(config))
    else:
        save_file(tensors, str(path))
    return bad


@pytest.mark.parametrize(
    "damage, words",
    [
        ("missing", ["text_model.final_layer_norm.weight", "text_encoder"]),
        ("shape", ["text_model.final_layer_norm.weight", "shape"]),
        ("nan", ["text_encoder/model.safetensors", "text_model.final_layer_norm.weight", "value 3 is nan", "finite"]),
        ("config", ["editmgt/config.json num_single_layers is 3", "config.transformer.num_single_layers"]),
        ("bin-only", ["pytorch_model.bin", "not read"]),
    ],
)
def test_bad_input_is_named_and_leaves_nothing(layouts, work, damage, words):
    source = layouts["bin-only"] if damage == "bin-only" else _damaged(layouts, work, damage)
    templates = ["--templates", str(REPO / "templates" / "tiny-random")]  # also for the config: no shipped fallback
    out = work / "bad" / f"pkg-{damage}"
    out.parent.mkdir(exist_ok=True)
    run = convert(source, out, "--dtype", "fp32,q4", *templates)
    assert run.returncode == 2, run.stderr
    message = [line for line in run.stderr.splitlines() if not line.startswith("IMPORTED ")]
    assert len(message) == 1 and message[0].startswith("error: "), run.stderr
    for w in words:
        assert w in message[0], message[0]
    nothing_left(out)

    # an existing package at --out is kept as it was
    shutil.copytree(TINY, out)
    before = {f: (out / f).read_bytes() for f in files_under(out)}
    assert convert(source, out, "--dtype", "fp32,q4", *templates).returncode == 2
    assert {f: (out / f).read_bytes() for f in files_under(out)} == before
    assert [p.name for p in out.parent.iterdir() if ".converting-" in p.name] == []
    shutil.rmtree(out)


def test_a_config_no_shipped_template_fits_is_refused_naming_the_field(layouts, work):
    bad = _damaged(layouts, work, "config")
    out = work / "bad" / "pkg-no-template"
    out.parent.mkdir(exist_ok=True)
    run = convert(bad, out, "--dtype", "q4")
    assert run.returncode == 2
    assert "no shipped templates fit" in run.stderr and "config.transformer.num_single_layers" in run.stderr
    # the closest template first: tiny-random, one field off (not editmgt-512, listed before it and
    # differing in many fields, nor shapes)
    reasons = run.stderr[run.stderr.index("no shipped templates fit") :].splitlines()[1:]
    assert reasons[0].startswith("closest: "), run.stderr
    assert "tiny-random" in reasons[0] and "config.transformer.num_single_layers" in reasons[0], run.stderr
    assert "more config field" in "\n".join(reasons[1:]), run.stderr
    nothing_left(out)


def test_with_no_resolution_asked_the_lowest_that_fits_is_chosen(layouts, work):
    """One config's templates at two resolutions (as editmgt-1024 and editmgt-512 ship): with no
    resolution asked the lower one is chosen, though tried second; asked, the one made for it; a
    resolution neither has is refused with both as the closest."""
    from editmgt_export.errors import ExportError
    from editmgt_export.from_templates import find_templates

    made = {}
    for name, res in (("a-at-128", 128), ("b-at-64", 64)):
        d = work / "two-resolutions" / name
        d.mkdir(parents=True, exist_ok=True)
        manifest = json.loads((REPO / "templates" / "tiny-random" / "manifest.json").read_text())
        manifest["config"]["resolution"] = res
        (d / "manifest.json").write_text(json.dumps(manifest))
        made[res] = d
    candidates = [made[128], made[64]]
    assert find_templates(layouts["single"], candidates) == made[64]
    assert find_templates(layouts["single"], candidates, 128) == made[128]
    assert find_templates(layouts["single"], candidates, 64, ["q4"]) == made[64]
    with pytest.raises(ExportError) as refused:
        find_templates(layouts["single"], candidates, 96)
    reasons = str(refused.value).splitlines()[1:]
    # the closest first: both only the resolution off, the lower one first
    assert reasons == [f"closest: {made[64]}: made for 64 px", f"{made[128]}: made for 128 px"]


def test_a_terminated_conversion_leaves_nothing(work, shapes_checkpoint):
    """SIGTERM while the graphs are written: the temporary folder is removed, nothing is at --out."""
    import signal

    out = work / "terminated" / "pkg"
    out.parent.mkdir(exist_ok=True)
    args = [
        "from-templates",
        "--source",
        str(shapes_checkpoint),
        "--out",
        str(out),
        "--dtype",
        "fp32,q8,q4",
        "--no-card",
    ]
    proc = subprocess.Popen([sys.executable, "-c", NO_TORCH, *args], cwd=EXPORT, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("convert: q8/"):  # the fp32 graphs are written, q8's begin
            assert [p.name for p in out.parent.iterdir() if ".converting-" in p.name] != []
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stderr.read()
    assert proc.wait() == 128 + signal.SIGTERM, "".join(seen) + rest
    nothing_left(out)
