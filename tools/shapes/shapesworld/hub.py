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
    if out.exists():
        shutil.rmtree(out)
    model, encoders = mgt.build_models(work)
    final = torch.load(work / f"{stage}_final.pt")
    model.load_state_dict(final["transformer"]), encoders.load_state_dict(final["text"])

    toks = work / "tokenizers"
    shutil.copytree(toks / "clip", out / "tokenizer")
    shutil.copytree(toks / "llm", out / "llm_encoder")

    clip_cfg = encoders.clip_cfg
    _save(
        encoders.clip.state_dict(),
        out / "text_encoder",
        {"architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", **clip_cfg},
        "model.safetensors",
        skip=("text_model.embeddings.position_ids",),
    )
    _save(
        encoders.llm.state_dict(),
        out / "llm_encoder",
        {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", **encoders.llm_cfg},
        "model.safetensors",
        skip=("lm_head.weight",),
    )
    _save(
        vq.load_vq(work).state_dict(),
        out / "vqvae",
        {"_class_name": "VQModel", **vq.VQ_CONFIG},
        "diffusion_pytorch_model.safetensors",
    )
    _save(
        model.state_dict(),
        out / "editmgt",
        {"_class_name": "Transformer2DModel", **mgt.TRANSFORMER_CONFIG},
        "diffusion_pytorch_model.safetensors",
    )
    write_pipeline_files(out, mgt.MASK_ID, {"trained_by": trained_by, "resolution": 128})
    return out
