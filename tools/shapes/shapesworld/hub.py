"""Write the trained model as an EditMGT checkpoint in hub layout (what the exporter converts).

tokenizer/ (CLIP), text_encoder/, llm_encoder/ (+ its tokenizer), vqvae/, editmgt/, scheduler/,
model_index.json — the same layout and config style as the exporter's tiny checkpoint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from editmgt_export.configs import write_pipeline_files

from . import mgt, vq

RECIPE = "tools/shapes (python -m shapesworld.train)"


def _save(state: dict, folder: Path, config: dict, weights: str, skip=()) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous() for k, v in state.items() if k not in skip}
    save_file(tensors, str(folder / weights), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def save_checkpoint(work: Path, out: Path, stage: str = "edit", trained_by: str = RECIPE) -> Path:
    model, encoders = mgt.build_models(work)
    final = torch.load(work / f"{stage}_final.pt")
    model.load_state_dict(final["transformer"]), encoders.load_state_dict(final["text"])
    return write_checkpoint(
        out,
        transformer=model.state_dict(),
        clip=encoders.clip.state_dict(),
        llm=encoders.llm.state_dict(),
        vqvae=vq.load_vq(work).state_dict(),
        clip_cfg=encoders.clip_cfg,
        llm_cfg=encoders.llm_cfg,
        tokenizers=work / "tokenizers",
        trained_by=trained_by,
    )


def write_checkpoint(
    out: Path,
    *,
    transformer: dict,
    clip: dict,
    llm: dict,
    vqvae: dict,
    clip_cfg: dict,
    llm_cfg: dict,
    tokenizers: Path,
    trained_by: str = RECIPE,
) -> Path:
    """The checkpoint folder from the four models' state dicts, their text configs and the
    tokenizer folders (``tokenizers/clip``, ``tokenizers/llm``)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(tokenizers / "clip", out / "tokenizer")
    shutil.copytree(tokenizers / "llm", out / "llm_encoder")
    _save(
        clip,
        out / "text_encoder",
        {"architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", **clip_cfg},
        "model.safetensors",
        skip=("text_model.embeddings.position_ids",),
    )
    _save(
        llm,
        out / "llm_encoder",
        {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", **llm_cfg},
        "model.safetensors",
        skip=("lm_head.weight",),
    )
    _save(vqvae, out / "vqvae", {"_class_name": "VQModel", **vq.VQ_CONFIG}, "diffusion_pytorch_model.safetensors")
    _save(
        transformer,
        out / "editmgt",
        {"_class_name": "Transformer2DModel", **mgt.TRANSFORMER_CONFIG},
        "diffusion_pytorch_model.safetensors",
    )
    write_pipeline_files(out, mgt.MASK_ID, {"trained_by": trained_by, "resolution": 128})
    return out
