"""A random EditMGT checkpoint in hub layout, written tensor by tensor (bounded memory).

tiny.build_random_checkpoint builds each model in torch and saves its state_dict: fine for small
configs, but the real-width Gemma-2-2B alone is 10.5 GB in float32. Here each model is built on
torch's meta device (names, shapes and dtypes, no storage), and each tensor is drawn and written
in row blocks straight into its safetensors file, so the memory held is one block of rows
(ROW_BLOCK_BYTES) whatever the model's size.

Files as the hub lays them out (transformers' and diffusers' ``save_pretrained``): one
``model.safetensors`` / ``diffusion_pytorch_model.safetensors``, or above ``shard_bytes``
(transformers' default 5 GB) shards ``<stem>-00001-of-0000N.safetensors`` with
``<stem>.safetensors.index.json``. Gemma's ``lm_head.weight`` is tied to its token table and not
stored. Values follow tiny.randomize's rule (biases N(0, 0.02²), norms near identity, tables
N(0, 1), other weights gain · N(0, 1/fan_in)), each tensor from its own generator seeded by
(seed, component, tensor name), so a tensor is made alone and the same seed gives the same files.

    python -m editmgt_export.stream_checkpoint --out DIR [--seed 0] [--reduced]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from .configs import write_pipeline_files

ROW_BLOCK_BYTES = 16 << 20
SHARD_BYTES = 5 * 10**9  # transformers' default max_shard_size ("5GB")
SAFETENSORS_DTYPE = {"float32": ("F32", np.dtype("<f4"))}


def _meta_state(build) -> tuple[dict[str, tuple[int, ...]], set[str]]:
    """(tensor name -> shape, names of embedding tables) of the model ``build()`` makes, built on
    the meta device (no storage)."""
    import torch

    with torch.device("meta"):
        model = build()
    tables = {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, torch.nn.Embedding)}
    shapes = {}
    for name, t in model.state_dict().items():
        if not t.is_floating_point():
            continue
        shapes[name] = tuple(int(d) for d in t.shape)
    return shapes, tables


def _rng(seed: int, component: str, name: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{component}/{name}".encode()).digest()
    return np.random.Generator(np.random.PCG64([seed, int.from_bytes(digest[:8], "little")]))


def _blocks(name: str, shape: tuple[int, ...], rng, tables: set[str], zero_centered_norms: bool, gain: float):
    """The tensor's float32 values in blocks of rows of its first axis (tiny.randomize's rule)."""
    leaf = name.rsplit(".", 1)[-1]
    n = shape[0] if shape else 1
    row = int(np.prod(shape[1:], dtype=np.int64)) if shape else 1
    step = max(1, ROW_BLOCK_BYTES // (4 * max(1, row)))
    for start in range(0, n, step):
        rows = min(step, n - start)
        block = (rows, *shape[1:]) if shape else ()
        x = rng.standard_normal(block, dtype=np.float32)
        if leaf == "bias" or len(shape) == 0:
            x *= np.float32(0.02)
        elif len(shape) == 1:
            base = 0.0 if zero_centered_norms and "norm" in name else 1.0
            x = np.float32(base) + np.float32(0.1) * x
        elif name not in tables:
            x *= np.float32(gain / math.sqrt(int(np.prod(shape[1:]))))
        yield np.ascontiguousarray(x, dtype="<f4")


def _shards(shapes: dict[str, tuple[int, ...]], shard_bytes: int) -> list[list[str]]:
    """Names per shard, in order: a new shard starts when the next tensor would take the current
    one past ``shard_bytes`` (huggingface_hub's splitter)."""
    shards: list[list[str]] = [[]]
    size = 0
    for name, shape in shapes.items():
        nbytes = 4 * int(np.prod(shape, dtype=np.int64))
        if shards[-1] and size + nbytes > shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(name)
        size += nbytes
    return shards


def safetensors_header(names: list[str], shapes: dict) -> tuple[bytes, int]:
    """The header text of a float32 safetensors file holding ``names`` in order, and its data bytes."""
    offsets, at = {}, 0
    for name in names:
        nbytes = 4 * int(np.prod(shapes[name], dtype=np.int64))
        offsets[name] = (at, at + nbytes)
        at += nbytes
    header = {"__metadata__": {"format": "pt"}}
    for name in names:
        header[name] = {"dtype": "F32", "shape": list(shapes[name]), "data_offsets": list(offsets[name])}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writes it
    return text, at


def write_safetensors(path: Path, names: list[str], shapes: dict, values) -> int:
    """Write a safetensors file: its header, then each tensor's blocks from ``values(name)`` as
    they come. Returns the data bytes."""
    text, at = safetensors_header(names, shapes)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for name in names:
            written = 0
            for block in values(name):
                f.write(block.tobytes())
                written += block.nbytes
            if written != 4 * int(np.prod(shapes[name], dtype=np.int64)):
                raise RuntimeError(f"{path.name}: tensor {name} wrote {written} bytes")
    return at


def write_component(
    folder: Path,
    build,
    config: dict,
    component: str,
    seed: int,
    skip=(),
    zero_centered_norms: bool = False,
    gain: float = 1.0,
    shard_bytes: int = SHARD_BYTES,
) -> list[Path]:
    """One model's config.json and safetensors files (sharded above ``shard_bytes``)."""
    folder.mkdir(parents=True, exist_ok=True)
    shapes, tables = _meta_state(build)
    shapes = {k: v for k, v in sorted(shapes.items()) if k not in skip}
    stem = "diffusion_pytorch_model" if "_class_name" in config else "model"
    shards = _shards(shapes, shard_bytes)

    def values(name):
        return _blocks(name, shapes[name], _rng(seed, component, name), tables, zero_centered_norms, gain)

    files, weight_map, total = [], {}, 0
    for i, names in enumerate(shards):
        name = f"{stem}.safetensors" if len(shards) == 1 else f"{stem}-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        total += write_safetensors(folder / name, names, shapes, values)
        files.append(folder / name)
        weight_map.update({n: name for n in names})
    if len(shards) > 1:
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        (folder / f"{stem}.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return files


def build_streamed_checkpoint(
    out: Path,
    seed: int,
    transformer: dict,
    vq: dict,
    clip: dict,
    gemma: dict,
    transformer_subfolder: str = "transformer",
    shard_bytes: int = SHARD_BYTES,
    log=lambda _: None,
) -> Path:
    """A random checkpoint with these configs (``clip`` / ``gemma`` override the tiny text
    encoders' configs, as in tiny.build_random_checkpoint), written into ``out`` through a
    temporary sibling folder renamed into place at the end."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, Gemma2Config, Gemma2ForCausalLM

    from .tiny import TRANSFORMER_GAIN, _tiny_clip_config, _tiny_gemma_config
    from .tiny_tokenizers import build_clip_tokenizer, build_gemma_tokenizer, save_tokenizer
    from .transformer import EditMGTTransformer

    out = Path(out)
    tmp = out.with_name(f".{out.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    clip_tok, gemma_tok = build_clip_tokenizer(), build_gemma_tokenizer()
    save_tokenizer(clip_tok, tmp / "tokenizer", "clip", 77)
    save_tokenizer(gemma_tok, tmp / "llm_encoder", "gemma", 256)
    vocab = clip_tok.get_vocab()
    clip_cfg = {
        **_tiny_clip_config(clip_tok.get_vocab_size(), vocab["<|startoftext|>"], vocab["<|endoftext|>"]),
        **clip,
    }
    gemma_cfg = {**_tiny_gemma_config(gemma_tok.get_vocab_size()), **gemma}
    write_component(
        tmp / "text_encoder",
        lambda: CLIPTextModelWithProjection(CLIPTextConfig(**clip_cfg)),
        {"architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", **clip_cfg},
        "text_encoder",
        seed,
        shard_bytes=shard_bytes,
    )
    log("text_encoder written")
    write_component(
        tmp / "llm_encoder",
        lambda: Gemma2ForCausalLM(Gemma2Config(**gemma_cfg)),
        {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", **gemma_cfg},
        "llm_encoder",
        seed,
        skip=("lm_head.weight",),
        zero_centered_norms=True,
        shard_bytes=shard_bytes,
    )
    log("llm_encoder written")

    def vq_model():
        from diffusers import VQModel

        return VQModel(**vq)

    write_component(tmp / "vqvae", vq_model, {"_class_name": "VQModel", **vq}, "vqvae", seed, shard_bytes=shard_bytes)
    log("vqvae written")
    write_component(
        tmp / transformer_subfolder,
        lambda: EditMGTTransformer(**transformer),
        {"_class_name": "Transformer2DModel", **transformer},
        transformer_subfolder,
        seed,
        gain=TRANSFORMER_GAIN,
        shard_bytes=shard_bytes,
    )
    log(f"{transformer_subfolder} written")
    write_pipeline_files(tmp, transformer["vocab_size"] - 1, {"random_seed": seed})
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def main(argv=None) -> int:
    import resource

    from .fullsize import CLIP_H, FULL_TRANSFORMER, FULL_VQ, GEMMA2_2B

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--layers",
        default=None,
        help="depth override 'double,single,clip,gemma' (e.g. 1,1,1,2 for a depth-reduced build at real widths)",
    )
    args = p.parse_args(argv)
    transformer, clip, gemma = dict(FULL_TRANSFORMER), dict(CLIP_H), dict(GEMMA2_2B)
    if args.layers:
        double, single, n_clip, n_gemma = (int(x) for x in args.layers.split(","))
        transformer.update(num_layers=double, num_single_layers=single)
        clip["num_hidden_layers"], gemma["num_hidden_layers"] = n_clip, n_gemma
    t0 = time.time()
    out = build_streamed_checkpoint(
        Path(args.out),
        args.seed,
        transformer,
        FULL_VQ,
        clip,
        gemma,
        log=lambda m: print(f"{m} ({time.time() - t0:.0f} s)", flush=True),
    )
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"out": str(out), "bytes": size, "seconds": round(time.time() - t0, 1), "peak_rss_bytes": rss}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
