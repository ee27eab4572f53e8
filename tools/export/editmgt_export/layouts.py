"""The tiny random checkpoint re-saved in each layout a hub checkpoint may use.

``python -m editmgt_export layouts --out DIR [--seed 0]`` writes one complete hub-layout
checkpoint per layout (tokenizer, text_encoder, llm_encoder, vqvae, editmgt, scheduler,
model_index.json), all from the weights of ``build_tiny_checkpoint(seed)``:

- ``single``: the tiny checkpoint itself: one ``model.safetensors`` (transformers subfolders:
  text_encoder, llm_encoder) or ``diffusion_pytorch_model.safetensors`` (diffusers subfolders:
  vqvae, editmgt) per subfolder.
- ``sharded``: the same float32 tensors in shards ``<stem>-00001-of-0000N.safetensors`` with
  ``<stem>.safetensors.index.json`` (``{"metadata": {"total_size": …}, "weight_map": {…}}``),
  every subfolder in at least two shards.
- ``variant``: the float32 files plus float16 ``variant`` files beside them, named as
  transformers and diffusers save ``variant="fp16"``: ``<stem>.fp16.safetensors``; sharded,
  ``<stem>.fp16-00001-of-0000N.safetensors`` with ``<stem>.safetensors.index.fp16.json``.
  text_encoder and vqvae are single files, llm_encoder and editmgt sharded. The float16 values
  differ from the float32 ones, so a reader that mixes them in makes a different package.
- ``bf16``: every float tensor stored as bfloat16, of the ``rounded`` weights (below).
- ``variant-only``: only float16 variant files (no float32 default), of the ``rounded`` weights;
  llm_encoder and editmgt sharded with the variant index.
- ``rounded``: the reference for ``bf16`` and ``variant-only``: like ``single`` (float32), but every
  weight first rounded to a value that bfloat16 and float16 both hold exactly (float32 →
  bfloat16 → float16 → float32, checked). So bf16 → fp32 and fp16 → fp32 give back exactly these
  float32 values, and ``bf16`` and ``variant-only`` must convert to the package of ``rounded``.
- ``tied``: llm_encoder saved as the base ``Gemma2Model`` (``architectures: ["Gemma2Model"]``):
  tensor names without the ``model.`` prefix, no ``lm_head.weight``, ``tie_word_embeddings``.
  (``single`` already leaves ``lm_head.weight`` out, as ``Gemma2ForCausalLM.save_pretrained``
  does for a tied head, but keeps the prefix.)
- ``bin-only``: text_encoder holds only ``pytorch_model.bin`` (``torch.save`` of its tensors);
  a converter must refuse it without unpickling it.
- ``vocab-merges``: the CLIP tokenizer folder with ``vocab.json`` + ``merges.txt`` (the slow CLIP
  tokenizer's files: vocabulary sorted by piece, ``#version: 0.2`` then one merge per line in
  rank order) instead of ``tokenizer.json``; ``tokenizer_config.json`` names ``CLIPTokenizer``.

The same seed gives byte-identical folders.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from huggingface_hub import split_torch_state_dict_into_shards
from safetensors.torch import load_file, save_file

from .tiny import build_tiny_checkpoint

LAYOUTS = ("single", "sharded", "variant", "bf16", "variant-only", "rounded", "tied", "bin-only", "vocab-merges")
WEIGHT_FOLDERS = ("text_encoder", "llm_encoder", "vqvae", "editmgt")
# transformers saves model.safetensors, diffusers diffusion_pytorch_model.safetensors
STEMS = {
    "text_encoder": "model",
    "llm_encoder": "model",
    "vqvae": "diffusion_pytorch_model",
    "editmgt": "diffusion_pytorch_model",
}
# the subfolders the variant layouts shard (the others keep one file per variant)
SHARDED_IN_VARIANT = ("llm_encoder", "editmgt")
METADATA = {"format": "pt"}


def round_to_half(t: torch.Tensor) -> torch.Tensor:
    """float32 values that bfloat16 and float16 both represent exactly (float32 → bf16 → fp16)."""
    if not t.is_floating_point():
        return t
    r = t.to(torch.bfloat16).to(torch.float32).to(torch.float16).to(torch.float32)
    if not torch.isfinite(r).all():
        raise ValueError("a weight overflows float16")
    assert torch.equal(r.to(torch.bfloat16).to(torch.float32), r)
    assert torch.equal(r.to(torch.float16).to(torch.float32), r)
    return r


def _cast(tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    """The tensors of one of the tiny checkpoint's single files (read directly: this module makes
    the fixtures the checkpoint reader is tested on)."""
    (f,) = sorted(folder.glob("*.safetensors"))
    return load_file(str(f))


def _clear_weights(folder: Path) -> None:
    for p in folder.iterdir():
        if p.name.endswith((".safetensors", ".bin")) or ".safetensors.index" in p.name:
            p.unlink()


def _variant_name(name: str, variant: str | None) -> str:
    """transformers' and diffusers' ``_add_variant``: the variant goes before the last suffix
    (``model.safetensors`` → ``model.fp16.safetensors``, ``model.safetensors.index.json`` →
    ``model.safetensors.index.fp16.json``)."""
    if variant is None:
        return name
    head, tail = name.rsplit(".", 1)
    return f"{head}.{variant}.{tail}"


def save_single(tensors: dict[str, torch.Tensor], folder: Path, stem: str, variant: str | None = None) -> None:
    save_file(tensors, str(folder / _variant_name(f"{stem}.safetensors", variant)), metadata=METADATA)


def save_sharded(
    tensors: dict[str, torch.Tensor], folder: Path, stem: str, variant: str | None = None, shards: int = 3
) -> int:
    """Shards as ``save_pretrained`` writes them (huggingface_hub's splitter, its file-name
    pattern and index), with the shard size chosen to give about ``shards`` files. Returns their
    count."""
    total = sum(v.numel() * v.element_size() for v in tensors.values())
    pattern = _variant_name(f"{stem}.safetensors", variant).replace(".safetensors", "{suffix}.safetensors")
    split = split_torch_state_dict_into_shards(
        tensors, filename_pattern=pattern, max_shard_size=max(1, total // shards + 1)
    )
    if not split.is_sharded:
        raise ValueError(f"{folder.name}: {total} bytes did not split into shards")
    for filename, names in split.filename_to_tensors.items():
        save_file({n: tensors[n].contiguous() for n in names}, str(folder / filename), metadata=METADATA)
    index = {"metadata": dict(split.metadata), "weight_map": dict(split.tensor_to_filename)}
    index_name = _variant_name(f"{stem}.safetensors.index.json", variant)
    (folder / index_name).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return len(split.filename_to_tensors)


def _copy_checkpoint(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)


def _resave(root: Path, fn) -> None:
    """Replace each weight folder's files with ``fn(folder, stem, tensors)``'s."""
    for sub in WEIGHT_FOLDERS:
        folder = root / sub
        tensors = _weights(folder)
        _clear_weights(folder)
        fn(folder, STEMS[sub], tensors)


def _layout_sharded(root: Path) -> None:
    _resave(root, lambda folder, stem, t: save_sharded(t, folder, stem))


def _layout_variant(root: Path) -> None:
    def save(folder, stem, t):
        if folder.name in SHARDED_IN_VARIANT:
            save_sharded(t, folder, stem)
            save_sharded(_cast(t, torch.float16), folder, stem, variant="fp16")
        else:
            save_single(t, folder, stem)
            save_single(_cast(t, torch.float16), folder, stem, variant="fp16")

    _resave(root, save)


def _rounded(t: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: round_to_half(v) for k, v in t.items()}


def _layout_rounded(root: Path) -> None:
    _resave(root, lambda folder, stem, t: save_single(_rounded(t), folder, stem))


def _layout_bf16(root: Path) -> None:
    _resave(root, lambda folder, stem, t: save_single(_cast(_rounded(t), torch.bfloat16), folder, stem))


def _layout_variant_only(root: Path) -> None:
    def save(folder, stem, t):
        half = _cast(_rounded(t), torch.float16)
        if folder.name in SHARDED_IN_VARIANT:
            save_sharded(half, folder, stem, variant="fp16")
        else:
            save_single(half, folder, stem, variant="fp16")

    _resave(root, save)


def _layout_tied(root: Path) -> None:
    folder = root / "llm_encoder"
    tensors = _weights(folder)
    if "lm_head.weight" in tensors:
        raise ValueError("the tiny Gemma should be saved without lm_head.weight")
    base = {k.removeprefix("model."): v for k, v in tensors.items()}
    _clear_weights(folder)
    save_single(base, folder, "model")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["Gemma2Model"]
    config["tie_word_embeddings"] = True
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def _layout_bin_only(root: Path) -> None:
    folder = root / "text_encoder"
    tensors = _weights(folder)
    _clear_weights(folder)
    torch.save(tensors, folder / "pytorch_model.bin")


def clip_vocab_merges(tokenizer_json: Path) -> tuple[str, str]:
    """``vocab.json`` and ``merges.txt`` text of a CLIP BPE ``tokenizer.json``, in the slow CLIP
    tokenizer's format."""
    model = json.loads(tokenizer_json.read_text())["model"]
    if model.get("type") != "BPE":
        raise ValueError(f"{tokenizer_json}: not a BPE tokenizer")
    vocab = json.dumps(model["vocab"], indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return vocab, "#version: 0.2\n" + "".join(f"{m}\n" for m in merges)


def _layout_vocab_merges(root: Path) -> None:
    folder = root / "tokenizer"
    vocab, merges = clip_vocab_merges(folder / "tokenizer.json")
    (folder / "tokenizer.json").unlink()
    (folder / "vocab.json").write_text(vocab, encoding="utf-8")
    (folder / "merges.txt").write_text(merges, encoding="utf-8")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "CLIPTokenizer"
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


BUILDERS = {
    "sharded": _layout_sharded,
    "variant": _layout_variant,
    "bf16": _layout_bf16,
    "variant-only": _layout_variant_only,
    "rounded": _layout_rounded,
    "tied": _layout_tied,
    "bin-only": _layout_bin_only,
    "vocab-merges": _layout_vocab_merges,
}


def write_layouts(out: Path, seed: int = 0, layouts: tuple[str, ...] = LAYOUTS) -> dict[str, Path]:
    """One folder per layout under ``out`` (``out/<layout>``); returns them by name."""
    unknown = [name for name in layouts if name not in LAYOUTS]
    if unknown:
        raise ValueError(f"unknown layout {unknown[0]!r} (known: {', '.join(LAYOUTS)})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    single = out / "single"
    if single.exists():
        shutil.rmtree(single)
    build_tiny_checkpoint(single, seed)
    result = {}
    for name in layouts:
        if name == "single":
            result[name] = single
            continue
        folder = out / name
        _copy_checkpoint(single, folder)
        BUILDERS[name](folder)
        result[name] = folder
    if "single" not in layouts:
        shutil.rmtree(single)
    return result
