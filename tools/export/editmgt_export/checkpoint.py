"""Load an EditMGT checkpoint in hub layout, strictly, with one-line errors.

Subfolders: tokenizer, text_encoder, llm_encoder, vqvae, editmgt (or transformer), scheduler.
Every tensor in the checkpoint must match the model built from its config.json (name and shape);
a mismatch raises ExportError naming the tensor and both shapes.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

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


# Weight files as transformers and diffusers name them: ``<stem>[.<variant>][-00001-of-00003].safetensors``
# and the index ``<stem>.safetensors.index[.<variant>].json`` (the variant goes before the last
# suffix: ``_add_variant`` in both libraries).
WEIGHT_FILE = re.compile(
    r"^(?P<stem>[^.]+?)(?:\.(?P<variant>[A-Za-z0-9_]+))?(?:-(?P<part>\d+)-of-(?P<parts>\d+))?\.safetensors$"
)
INDEX_FILE = re.compile(r"^(?P<stem>[^.]+)\.safetensors\.index(?:\.(?P<variant>[A-Za-z0-9_]+))?\.json$")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# stored float types read as float32, exactly (every float16 and bfloat16 value is a float32 value)
EXACT_FLOATS = (torch.float32, torch.float16, torch.bfloat16)


@dataclass
class WeightFiles:
    """The files a subfolder's tensors are read from (``select_weights``)."""

    folder: Path
    variant: str | None  # None: the default (non-variant) files
    files: list[Path]
    index: Path | None = None
    weight_map: dict[str, str] | None = None  # tensor -> file name, from the index


def _weight_groups(folder: Path) -> dict[str | None, dict[str, list[str]]]:
    groups: dict[str | None, dict[str, list[str]]] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file():
            continue
        if p.name.endswith(".safetensors"):
            m = WEIGHT_FILE.match(p.name)
            if m is None:
                raise ExportError(f"{p}: cannot tell the model, variant and shard from this file name")
            groups.setdefault(m["variant"], {"files": [], "indexes": []})["files"].append(p.name)
        elif INDEX_FILE.match(p.name):
            groups.setdefault(INDEX_FILE.match(p.name)["variant"], {"files": [], "indexes": []})["indexes"].append(
                p.name
            )
    return groups


def select_weights(folder: Path) -> WeightFiles:
    """Which safetensors files hold a subfolder's tensors.

    - The default (non-variant) files when there are any; ``variant`` files beside them
      (``model.fp16.safetensors``, ``diffusion_pytorch_model.fp16-00001-of-00002.safetensors``,
      …) are ignored: they are a lower-precision copy of the same weights for downloads, and
      the package is made from the full-precision ones.
    - One variant only when it is all there is; two variants and no default files are refused
      (which copy was meant is not knowable). Files of two variants are never mixed.
    - Within the chosen files, an index (``*.safetensors.index[.variant].json``) decides which
      file holds which tensor; without one, a single file, or shards ``-0000k-of-0000n`` that
      must all be there.
    - Pickle files (``pytorch_model.bin``, …) are never opened: a folder with only those is
      refused with a message.
    """
    folder = Path(folder)
    groups = _weight_groups(folder)
    if not any(g["files"] for g in groups.values()):
        pickles = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name.endswith(PICKLE_SUFFIXES))
        if pickles:
            raise ExportError(
                f"{folder} has only pickle weights ({', '.join(pickles)}), which are not read: unpickling a file "
                "can run code stored in it. Save the weights as safetensors (e.g. save_pretrained with "
                "safe_serialization=True, on a machine you trust) and convert that"
            )
        raise ExportError(f"{folder} has no .safetensors weights")
    if None in groups:
        variant = None
    else:
        variants = sorted(v for v in groups if v is not None)
        if len(variants) > 1:
            raise ExportError(
                f"{folder} has no default weight files, only the variants {', '.join(variants)}: "
                "which one to convert is ambiguous (keep one, or add the full-precision files)"
            )
        variant = variants[0]
    group = groups[variant]
    label = f"variant '{variant}'" if variant else "default"
    if len(group["indexes"]) > 1:
        raise ExportError(f"{folder} has several {label} index files: {', '.join(group['indexes'])}")
    if group["indexes"]:
        index_path = folder / group["indexes"][0]
        index = _read_json(index_path)
        weight_map = index.get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ExportError(f"{index_path} has no weight_map")
        for name, file in weight_map.items():
            if not isinstance(file, str) or Path(file).name != file:
                raise ExportError(f"{index_path}: tensor '{name}' is mapped to {file!r}, not a file name in {folder}")
        files = sorted(set(weight_map.values()))
        for file in files:
            if not (folder / file).is_file():
                raise ExportError(f"{index_path} names {file}, which is missing from {folder}")
        return WeightFiles(folder, variant, [folder / f for f in files], index_path, dict(weight_map))
    names = group["files"]
    if not names:
        raise ExportError(f"{folder} has a {label} index but no {label} weight files")
    parsed = [WEIGHT_FILE.match(n) for n in names]
    if len({m["stem"] for m in parsed}) > 1:
        raise ExportError(f"{folder} holds the weights of more than one model: {', '.join(names)}")
    singles = [m.string for m in parsed if m["part"] is None]
    shards = [m for m in parsed if m["part"] is not None]
    if singles and shards:
        raise ExportError(
            f"{folder} has both {singles[0]} and shards ({shards[0].string}, …) and no index saying which to read"
        )
    if shards:
        counts = {int(m["parts"]) for m in shards}
        if len(counts) > 1:
            raise ExportError(f"{folder}: shards of different counts ({', '.join(m.string for m in shards)})")
        (n,) = counts
        have = {int(m["part"]) for m in shards}
        lost = [k for k in range(1, n + 1) if k not in have]
        if lost:
            raise ExportError(f"{folder}: shard {lost[0]} of {n} is missing (found {', '.join(names)})")
    return WeightFiles(folder, variant, [folder / n for n in names])


def _as_float32(tensor: torch.Tensor, name: str, file: Path) -> torch.Tensor:
    if not tensor.is_floating_point():
        return tensor
    if tensor.dtype not in EXACT_FLOATS:
        raise ExportError(f"{file}: tensor '{name}' is {tensor.dtype}; float32, float16 and bfloat16 are read")
    return tensor.to(torch.float32)


def tensor_files(folder: Path) -> dict[str, Path]:
    """Each tensor's name (as stored) → the file it is read from, by ``select_weights``' rule
    (safetensors headers only, no tensor data)."""
    chosen = select_weights(folder)
    where: dict[str, Path] = {}
    for file in chosen.files:
        try:
            with safe_open(str(file), framework="pt") as f:
                names = list(f.keys())
        except SafetensorError as e:
            raise ExportError(f"{file} is not a readable safetensors file: {e}") from None
        if chosen.weight_map is not None:
            wanted = [n for n, mapped in chosen.weight_map.items() if mapped == file.name]
            absent = [n for n in wanted if n not in names]
            if absent:
                raise ExportError(f"{chosen.index} puts tensor '{absent[0]}' in {file.name}, which lacks it")
        else:
            wanted = names
        for name in wanted:
            if name in where:
                raise ExportError(f"{folder}: tensor '{name}' is in {where[name].name} and in {file.name}")
            where[name] = file
    return where


def read_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """All tensors of a subfolder, float ones as float32 (exact from float16 and bfloat16), from
    the files ``select_weights`` picks."""
    by_file: dict[Path, list[str]] = {}
    for name, file in tensor_files(folder).items():
        by_file.setdefault(file, []).append(name)
    tensors: dict[str, torch.Tensor] = {}
    for file, names in by_file.items():
        try:
            with safe_open(str(file), framework="pt") as f:
                for name in names:
                    tensors[name] = _as_float32(f.get_tensor(name), name, file)
        except SafetensorError as e:
            raise ExportError(f"{file} is not a readable safetensors file: {e}") from None
    return tensors


def gemma_module_names(stored: list[str]) -> dict[str, str]:
    """Stored Gemma tensor name → its name in the causal LM the exporter builds. A checkpoint
    saved from the base ``Gemma2Model`` (as pipelines that keep Gemma as a text encoder save it)
    stores the names without the ``model.`` prefix; ``lm_head.weight`` is tied to the token
    table and usually not stored."""
    if any(k.startswith("model.") for k in stored):
        return {k: k for k in stored}
    return {k: k if k == "lm_head.weight" else f"model.{k}" for k in stored}


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
    names = gemma_module_names(list(tensors))
    tensors = {names[k]: v for k, v in tensors.items()}
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


def clip_tokenizer_from_vocab_merges(folder: Path):
    """A CLIP BPE ``tokenizers.Tokenizer`` from the slow tokenizer's ``vocab.json`` and
    ``merges.txt``, with the CLIP fast tokenizer's pipeline (the one the tiny checkpoint's
    ``tokenizer.json`` has): NFC, whitespace runs → one space, lower case; CLIP's word pattern
    then byte-level pieces; BPE with the ``</w>`` end-of-word suffix and ``<|endoftext|>`` as the
    unknown token; ``<|startoftext|> … <|endoftext|>`` around every text."""
    from tokenizers import Tokenizer, decoders, models, processors

    from .tiny_tokenizers import clip_text_rules

    vocab = _read_json(folder / "vocab.json")
    merges_path = folder / "merges.txt"
    if not merges_path.is_file():
        raise ExportError(f"{folder} has vocab.json but no merges.txt")
    merges: list[tuple[str, str]] = []
    for n, line in enumerate(merges_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line or (n == 1 and line.startswith("#version")):
            continue
        pair = line.split(" ")
        if len(pair) != 2:
            raise ExportError(f"{merges_path} line {n}: expected two pieces separated by one space, got {line!r}")
        merges.append((pair[0], pair[1]))
    for special in ("<|startoftext|>", "<|endoftext|>"):
        if special not in vocab:
            raise ExportError(f"{folder / 'vocab.json'} has no {special}: not a CLIP vocabulary")
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, end_of_word_suffix="</w>", unk_token="<|endoftext|>"))
    tok.normalizer, tok.pre_tokenizer = clip_text_rules()
    tok.add_special_tokens(["<|startoftext|>", "<|endoftext|>"])
    tok.post_processor = processors.RobertaProcessing(
        ("<|endoftext|>", vocab["<|endoftext|>"]),
        ("<|startoftext|>", vocab["<|startoftext|>"]),
        trim_offsets=False,
        add_prefix_space=False,
    )
    tok.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Replace("</w>", " "), decoders.Strip(" ", 0, 1)])
    return tok


# tokenizer_config classes whose transformers class rebuilds the pipeline in its own code instead
# of taking tokenizer.json as saved (transformers 5: CLIPTokenizer changes the byte-level
# pre-tokenizer, the decoder and the BPE model's fields); for these the file is read as it is
CLIP_TOKENIZER_CLASSES = ("CLIPTokenizer", "CLIPTokenizerFast")


def load_tokenizer(folder: Path):
    """A subfolder's tokenizer (transformers).

    - ``vocab.json`` + ``merges.txt`` and no ``tokenizer.json`` (the slow CLIP tokenizer's files):
      ``clip_tokenizer_from_vocab_merges`` builds the ``tokenizer.json``, which is then loaded as
      below, so both layouts of one CLIP tokenizer give the same tokenizer;
    - a CLIP ``tokenizer.json``: loaded as saved (``PreTrainedTokenizerFast``), with the special
      tokens and settings of ``tokenizer_config.json`` / ``special_tokens_map.json``;
    - anything else: ``AutoTokenizer`` (its class's defaults apply, e.g. Gemma pads on the left
      unless the config says otherwise).
    """
    import tempfile

    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    folder = Path(folder)
    config_path = folder / "tokenizer_config.json"
    config = _read_json(config_path) if config_path.is_file() else {}
    if not (folder / "tokenizer.json").is_file() and (folder / "vocab.json").is_file():
        tok = clip_tokenizer_from_vocab_merges(folder)
        with tempfile.TemporaryDirectory(prefix="editmgt-tokenizer-") as tmp:
            tok.save(str(Path(tmp) / "tokenizer.json"))
            for extra in ("tokenizer_config.json", "special_tokens_map.json"):
                if (folder / extra).is_file():
                    shutil.copy(folder / extra, Path(tmp) / extra)
            return PreTrainedTokenizerFast.from_pretrained(tmp)
    if config.get("tokenizer_class") in CLIP_TOKENIZER_CLASSES and (folder / "tokenizer.json").is_file():
        return PreTrainedTokenizerFast.from_pretrained(str(folder))
    return AutoTokenizer.from_pretrained(str(folder))
