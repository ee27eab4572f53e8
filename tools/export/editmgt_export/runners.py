"""Graph runners: the same name -> {input: array} -> {output: array} interface for the PyTorch
graph modules and for onnxruntime sessions, so one pipeline drives both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .graphs import GRAPH_IO, TRACED_IO, TextClip, TextLlm, TransformerStep, VqDecode, VqEncode


class TorchRunner:
    def __init__(self, ckpt, token_grid: tuple[int, int], text_len: int, attention_blocks: list[int]):
        self.modules = {
            "text_clip": TextClip(ckpt.clip).eval(),
            "text_llm": TextLlm(ckpt.llm).eval(),
            "vq_encode": VqEncode(ckpt.vq).eval(),
            "vq_decode": VqDecode(ckpt.vq).eval(),
            "transformer_step": TransformerStep(ckpt.transformer, token_grid, text_len, attention_blocks).eval(),
        }

    def run(self, graph: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs, outputs = TRACED_IO[graph]
        with torch.no_grad():
            result = self.modules[graph](*[torch.from_numpy(np.ascontiguousarray(feeds[n])) for n in inputs])
        if not isinstance(result, tuple):
            result = (result,)
        return {n: r.numpy() for n, r in zip(outputs, result)}


class OrtRunner:
    def __init__(self, folder: Path, providers=("CPUExecutionProvider",), threads: int = 1):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        self.sessions = {
            g: ort.InferenceSession(str(Path(folder) / f"{g}.onnx"), opts, providers=list(providers))
            for g in GRAPH_IO
            if (Path(folder) / f"{g}.onnx").exists()
        }
        self.token_table = _token_table(Path(folder))

    def run(self, graph: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs, outputs = GRAPH_IO[graph]
        if graph == "text_llm" and "inputs_embeds" not in feeds:
            # the engine's lookup: the rows of the ids from the package's token table
            if self.token_table is None:
                raise ValueError("text_llm takes inputs_embeds and no token table is listed for this folder")
            from .text_table import read_rows

            feeds = {**feeds, "inputs_embeds": read_rows(*self.token_table, feeds["input_ids"])}
        if graph == "transformer_step" and feeds["text_states"].shape[0] == 1:
            # no CFG: the graph takes [uncond, cond]; [cond, cond] gives the conditional logits
            # exactly (u + g·(c − u) = u when c = u), as the engine feeds it
            feeds = {
                **feeds,
                "text_states": np.concatenate([feeds["text_states"]] * 2),
                "pooled": np.concatenate([feeds["pooled"]] * 2),
            }
        res = self.sessions[graph].run(outputs, {n: feeds[n] for n in inputs})
        return {
            n: np.asarray(r).astype(np.float32) if r.dtype == np.float16 else np.asarray(r)
            for n, r in zip(outputs, res)
        }


def _token_table(folder: Path):
    """(table file, description) of the text_llm in ``folder``, from the package's manifest."""
    import json

    manifest = folder.parent / "manifest.json"
    if not manifest.exists():
        return None
    for entry in json.loads(manifest.read_text())["dtypes"].values():
        g = entry["graphs"]["text_llm"]
        if g["file"] == f"{folder.name}/text_llm.onnx" and "token_table" in g:
            return folder.parent / g["token_table"]["file"], g["token_table"]
    return None
