"""Load an EditMGT checkpoint in hub layout, strictly, with one-line errors.

Subfolders: tokenizer, text_encoder, llm_encoder, vqvae, editmgt (or transformer), scheduler.
Every tensor in the checkpoint must match the model built from its config.json (name and shape);
a mismatch raises ExportError naming the tensor and both shapes.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from .errors import ExportError
from .transformer import EditMGTTransformer

TRANSFORMER_SUBFOLDERS = ("editmgt", "transformer")
NEEDED = ("tokenizer", "text_encoder", "llm_encoder", "vqvae", "scheduler")


@dataclass
class Checkpoint:
    root: Path
    clip: torch.nn.Module
    llm: torch.nn.Module
    vq: torch.nn.Module
    transformer: EditMGTTransformer
    scheduler_config: dict
    transformer_subfolder: str

    @property
    def mask_token_id(self) -> int:
        return int(self.scheduler_config["mask_token_id"])

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vq.config.block_out_channels) - 1)


def _subfolder(root: Path, name: str) -> Path:
    path = root / name
    if not path.is_dir():
        raise ExportError(f"checkpoint {root} has no '{name}' subfolder")
    return path


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise ExportError(f"missing {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ExportError(f"{path} is not valid JSON: {e}") from None


def read_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """All tensors of a subfolder (single or sharded safetensors)."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ExportError(f"{folder} has no .safetensors weights")
    tensors: dict[str, torch.Tensor] = {}
    for f in files:
        tensors.update(load_file(str(f)))
    return tensors


def load_strict(
    module: torch.nn.Module, tensors: dict[str, torch.Tensor], where: str, allowed_missing: tuple[str, ...] = ()
) -> None:
    """Copy ``tensors`` into ``module``; every name and shape must match exactly."""
    expected = module.state_dict()
    for name, tensor in tensors.items():
        if name not in expected:
            raise ExportError(
                f"{where}: unexpected tensor '{name}' {tuple(tensor.shape)} (not in the model built from config.json)"
            )
        if tuple(expected[name].shape) != tuple(tensor.shape):
            raise ExportError(
                f"{where}: tensor '{name}' has shape {tuple(tensor.shape)} in the checkpoint "
                f"but {tuple(expected[name].shape)} in the model built from config.json"
            )
    missing = [n for n in expected if n not in tensors and n not in allowed_missing]
    if missing:
        raise ExportError(
            f"{where}: checkpoint lacks tensor '{missing[0]}' {tuple(expected[missing[0]].shape)}"
            + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
        )
    full = {**{n: expected[n] for n in allowed_missing if n not in tensors}, **tensors}
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in full.items()}, strict=True)
    if allowed_missing and hasattr(module, "tie_weights"):
        module.tie_weights()


def load_transformer(folder: Path) -> EditMGTTransformer:
    config = _read_json(folder / "config.json")
    init_keys = set(inspect.signature(EditMGTTransformer.__init__).parameters)
    kwargs = {k: v for k, v in config.items() if k in init_keys and not k.startswith("_")}
    model = EditMGTTransformer(**kwargs)
    load_strict(model, read_tensors(folder), folder.name)
    return model.eval()


# The reference builds its text encoders in float32 whatever their config.json names (a
# checkpoint saved from bfloat16 says "torch_dtype": "bfloat16"); transformers would otherwise
# build the module in that dtype, and the exported graph would compute in it.
TEXT_DTYPE = torch.float32


def _load_clip(folder: Path, dtype: torch.dtype = TEXT_DTYPE):
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    model = CLIPTextModelWithProjection._from_config(CLIPTextConfig.from_pretrained(folder), dtype=dtype)
    tensors = read_tensors(folder)
    tensors.pop("text_model.embeddings.position_ids", None)
    load_strict(model, tensors, folder.name)
    return model.eval()


def _load_llm(folder: Path, dtype: torch.dtype = TEXT_DTYPE):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(folder)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    tensors = read_tensors(folder)
    if not any(k.startswith("model.") for k in tensors):
        tensors = {f"model.{k}": v for k, v in tensors.items()}
    tied = ("lm_head.weight",) if getattr(config, "tie_word_embeddings", True) else ()
    load_strict(model, tensors, folder.name, allowed_missing=tied)
    return model.eval()


def _load_vq(folder: Path):
    from diffusers import VQModel

    config = _read_json(folder / "config.json")
    model = VQModel.from_config(config)
    load_strict(model, read_tensors(folder), folder.name)
    return model.eval()


def resolve_source(source: str, cache_dir: Path | None = None) -> Path:
    """A local folder, or a hub id downloaded with huggingface_hub (needs internet)."""
    path = Path(source)
    if path.exists():
        if not path.is_dir():
            raise ExportError(f"--source {source} is a file, expected a checkpoint folder or hub id")
        return path
    if source.count("/") != 1 or source.startswith((".", "/")):
        raise ExportError(f"--source {source}: no such folder, and not a hub id like 'WeiChow/EditMGT'")
    try:
        from huggingface_hub import snapshot_download

        return Path(
            snapshot_download(
                source,
                cache_dir=cache_dir,
                allow_patterns=[
                    "model_index.json",
                    "tokenizer/*",
                    "text_encoder/*",
                    "llm_encoder/*",
                    "vqvae/*",
                    "editmgt/*",
                    "scheduler/*",
                ],
            )
        )
    except Exception as e:  # network, auth, missing repo: one line for the user
        raise ExportError(
            f"could not download {source} from the hub: {type(e).__name__}: {str(e).splitlines()[0]}"
        ) from None


def load_checkpoint(root: Path, text_dtype: torch.dtype = TEXT_DTYPE) -> Checkpoint:
    """``text_dtype``: the dtype the text encoders are built and computed in (float32, as the
    reference, unless asked otherwise)."""
    root = Path(root)
    if not root.is_dir():
        raise ExportError(f"checkpoint folder {root} does not exist")
    for name in NEEDED:
        _subfolder(root, name)
    sub = next((s for s in TRANSFORMER_SUBFOLDERS if (root / s).is_dir()), None)
    if sub is None:
        raise ExportError(f"checkpoint {root} has no 'editmgt' (or 'transformer') subfolder")
    scheduler = _read_json(root / "scheduler" / "scheduler_config.json")
    if "mask_token_id" not in scheduler:
        raise ExportError(f"{root}/scheduler/scheduler_config.json has no mask_token_id")
    with torch.no_grad():
        ckpt = Checkpoint(
            root=root,
            clip=_load_clip(root / "text_encoder", text_dtype),
            llm=_load_llm(root / "llm_encoder", text_dtype),
            vq=_load_vq(root / "vqvae"),
            transformer=load_transformer(root / sub),
            scheduler_config=scheduler,
            transformer_subfolder=sub,
        )
    cfg = ckpt.transformer.config
    if cfg.codebook_size != ckpt.vq.config.num_vq_embeddings:
        raise ExportError(
            f"transformer codebook_size {cfg.codebook_size} != vqvae num_vq_embeddings {ckpt.vq.config.num_vq_embeddings}"
        )
    if not 0 <= ckpt.mask_token_id < cfg.vocab_size:
        raise ExportError(f"mask_token_id {ckpt.mask_token_id} outside the transformer vocab {cfg.vocab_size}")
    return ckpt
