"""Graph templates depend on the config and the conversion options, never on weight values.

Two checkpoints of the tiny config give byte-identical templates, weight maps, constants and
manifests (its ``source`` aside) for every graph of every dtype: a random one, and one whose
every tensor byte is 0xFF (NaN in float32), which a template build that read or used any weight
value could not turn into the same files.
"""

import json
import shutil

import numpy as np
import onnx
import pytest

from editmgt_export.dtypes import DTYPES

SEEDS = (0, 1)  # seed 1's checkpoint has every tensor byte overwritten with 0xFF


def overwrite_tensor_bytes(ckpt):
    """Every tensor's data in the checkpoint's safetensors files set to 0xFF (headers kept)."""
    for f in sorted(ckpt.rglob("*.safetensors")):
        data = bytearray(f.read_bytes())
        start = 8 + int.from_bytes(data[:8], "little")
        data[start:] = b"\xff" * (len(data) - start)
        f.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    from editmgt_export.template import build_templates
    from editmgt_export.tiny import TINY_CHUNK_BYTES, TINY_RESOLUTION, build_tiny_checkpoint

    out = {}
    for seed in SEEDS:
        root = tmp_path_factory.mktemp(f"seed{seed}")
        ckpt = build_tiny_checkpoint(root / "ckpt", seed=seed)
        if seed == SEEDS[1]:
            overwrite_tensor_bytes(ckpt)
        build_templates(
            ckpt,
            DTYPES,
            root / "templates",
            resolution=TINY_RESOLUTION,
            chunk_bytes=TINY_CHUNK_BYTES,
            log=lambda _: None,
        )
        out[seed] = root / "templates"
    yield out
    for t in out.values():
        shutil.rmtree(t.parent, ignore_errors=True)


def test_templates_are_byte_identical_across_checkpoints(templates):
    a, b = (templates[s] for s in SEEDS)
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert names == sorted(
        p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file() and p.name != "manifest.json"
    )
    # the checkpoints really differ: one is random, the other all NaN
    ta = np.fromfile(a.parent / "ckpt" / "vqvae" / "diffusion_pytorch_model.safetensors", np.uint8)
    tb = np.fromfile(b.parent / "ckpt" / "vqvae" / "diffusion_pytorch_model.safetensors", np.uint8)
    assert ta.shape == tb.shape and (ta != tb).mean() > 0.9
    for d in DTYPES:
        for g in ("text_clip", "text_llm", "vq_encode", "vq_decode", "transformer_step"):
            for suffix in (".onnx", ".weights.json"):
                assert f"{d}/{g}{suffix}" in names
    differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert differ == []
    # the manifests carry no value of the checkpoint's either: codebook colours are zeros (a
    # converter decodes them), and the files they list are the zero-weight package's
    ma, mb = (json.loads((t / "manifest.json").read_text()) for t in (a, b))
    assert ma["source"] != mb["source"]
    assert {k: v for k, v in ma.items() if k != "source"} == {k: v for k, v in mb.items() if k != "source"}
    assert ma["codebook_colors"] == [[0.0, 0.0, 0.0]] * ma["config"]["codebook_size"]


def test_every_weight_is_mapped(templates):
    """Each template's initializers are config constants (inside the template, or in its
    constants file) or map entries with checkpoint sources; no weight byte stays behind."""
    root = templates[SEEDS[0]]
    for d in DTYPES:
        for path in sorted((root / d).glob("*.onnx")):
            weight_map = json.loads(path.with_name(path.stem + ".weights.json").read_text())
            entries = {e["name"]: e for e in weight_map["entries"]}
            model = onnx.load(str(path), load_external_data=False)
            for t in model.graph.initializer:
                external = t.data_location == onnx.TensorProto.EXTERNAL
                if external:
                    assert t.name in entries, f"{d}/{path.name}: {t.name} is external but not in the map"
                e = entries.get(t.name)
                if e is not None and "sources" in e:
                    assert e["sources"] and all(s["subfolder"] and s["tensor"] for s in e["sources"])
                    if not external:
                        assert set(t.raw_data) <= {0}, f"{d}/{path.name}: weight bytes of {t.name} in the template"
            weights = [e for e in weight_map["entries"] if "sources" in e]
            assert weights, f"{d}/{path.name} maps no weight"
            assert all("encoding" in e and "place" in e for e in weights)


def test_the_vq_decoders_channel_parts_map_to_slices_of_checkpoint_tensors(tmp_path):
    """Where the decoder's wide tensors are split (the full-size VQ-GAN at 512 px), its parts are
    views of the checkpoint's tensors: each maps to its tensor and a slice, nothing is left over."""
    import numpy as np
    from diffusers import VQModel

    from editmgt_export.graphs import VqDecode
    from editmgt_export.onnx_export import checkpoint_weights
    from editmgt_export.tiny import TINY_VQ, randomize
    from editmgt_export.weightmap import apply_transform

    vq = VQModel(**TINY_VQ)
    randomize(vq, 5)
    module = VqDecode(vq, split_tail=True)
    assert module.tail is not None
    weights = checkpoint_weights(module, {"vq": (vq, "vqvae")}, tmp_path)
    assert [k for k, _ in module.named_parameters() if k not in weights] == []
    stored = vq.state_dict()
    # tail.d is the decoder itself; the other tail tensors are the parts
    parts = {k: v for k, v in module.state_dict().items() if k.startswith("tail.") and not k.startswith("tail.d.")}
    assert len(parts) >= 8
    sliced = 0
    for key, value in parts.items():
        w = weights[key]  # a slice, or the whole tensor where a part spans it (a single output part's bias)
        assert w["subfolder"] == "vqvae" and [t["op"] for t in w.get("transforms", [])] in ([], ["slice"]), key
        sliced += bool(w.get("transforms"))
        got = stored[w["tensor"]].numpy()
        for t in w.get("transforms", []):
            got = apply_transform(got, t)
        np.testing.assert_array_equal(got, value.numpy())
    assert sliced >= 8
