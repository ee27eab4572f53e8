"""Load an EditMGT checkpoint in hub layout, strictly, with one-line errors.

Subfolders: tokenizer, text_encoder, llm_encoder, vqvae, editmgt (or transformer), scheduler.
Every tensor in the checkpoint must match the model built from its config.json (name and shape);
a mismatch raises ExportError naming the tensor and both shapes.
"""

from __future__ import annotations

import contextlib
import inspect
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from .errors import ExportError
from .transformer import EditMGTTransformer
from .weight_files import PICKLE_SUFFIXES, WeightFiles, read_json, select_weights  # noqa: F401

TRANSFORMER_SUBFOLDERS = ("editmgt", "transformer")
NEEDED = ("tokenizer", "text_encoder", "llm_encoder", "vqvae", "scheduler")
# what a hub download fetches: every subfolder the loader reads, either transformer folder included
HUB_PATTERNS = ["model_index.json", *(f"{s}/*" for s in (*NEEDED, *TRANSFORMER_SUBFOLDERS))]


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


# stored float types read as float32, exactly (every float16 and bfloat16 value is a float32 value)
EXACT_FLOATS = (torch.float32, torch.float16, torch.bfloat16)


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


def load_transformer(folder: Path, weights: bool = True) -> EditMGTTransformer:
    config = read_json(folder / "config.json")
    init_keys = set(inspect.signature(EditMGTTransformer.__init__).parameters)
    kwargs = {k: v for k, v in config.items() if k in init_keys and not k.startswith("_")}
    if not weights:
        return _structure(lambda: EditMGTTransformer(**kwargs), folder)
    model = EditMGTTransformer(**kwargs)
    load_strict(model, read_tensors(folder), folder.name)
    return model.eval()


@contextlib.contextmanager
def _parameters_on_meta():
    """Modules built inside keep their parameters on the meta device: no storage, and their
    initialisation does nothing (buffers, computed from the config, are built as usual)."""
    register = torch.nn.Module.register_parameter

    def on_meta(module, name, param):
        register(module, name, param)
        if param is not None and param.device.type != "meta":
            kind = type(module._parameters[name])
            module._parameters[name] = kind(param.to("meta"), requires_grad=param.requires_grad)

    torch.nn.Module.register_parameter = on_meta
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register


# parameters of this many bytes or more live in anonymous memory maps of their own: zero pages,
# resident only once read (an export reads one graph's weights, not every model's)
_MAPPED_FROM = 1 << 20


def _zeros(shape, dtype: torch.dtype) -> torch.Tensor:
    import math
    import mmap

    nbytes = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
    if nbytes < _MAPPED_FROM:
        return torch.zeros(shape, dtype=dtype)
    return torch.frombuffer(mmap.mmap(-1, nbytes), dtype=dtype).reshape(shape)


def _structure(
    build,
    folder: Path,
    names=None,
    allowed_missing: tuple[str, ...] = (),
    ignored: tuple[str, ...] = (),
    build_instead=None,
) -> torch.nn.Module:
    """The model ``build()`` makes, checked against the tensor names and shapes the checkpoint
    subfolder stores (headers only; ``names`` maps stored names to the module's), with parameters
    that hold no checkpoint value: zeros, in memory only once read, so the model costs (almost)
    no memory whatever its size. For what depends on the config alone (graph templates)."""
    from .weightmap import SafetensorsFolder

    with _parameters_on_meta():
        model = build()
    stored = SafetensorsFolder(folder)
    shapes = {(names or {}).get(k, k): stored.shape(k) for k in stored.index if k not in ignored}
    expected = model.state_dict(keep_vars=True)
    for name, shape in shapes.items():
        if name not in expected:
            raise ExportError(
                f"{folder.name}: unexpected tensor '{name}' {shape} (not in the model built from config.json)"
            )
        if tuple(expected[name].shape) != tuple(shape):
            raise ExportError(
                f"{folder.name}: tensor '{name}' has shape {tuple(shape)} in the checkpoint "
                f"but {tuple(expected[name].shape)} in the model built from config.json"
            )
    missing = [
        n for n in expected if n not in shapes and n not in allowed_missing and expected[n].device.type == "meta"
    ]
    if missing:
        raise ExportError(f"{folder.name}: checkpoint lacks tensor '{missing[0]}' {tuple(expected[missing[0]].shape)}")
    if build_instead is not None:  # checked against the checkpoint's config; another one is built
        with _parameters_on_meta():
            model = build_instead()
    made: dict[int, torch.nn.Parameter] = {}  # tied parameters stay one parameter
    for module in model.modules():
        for name, param in list(module._parameters.items()):
            if param is None or param.device.type != "meta":
                continue
            if id(param) not in made:
                made[id(param)] = torch.nn.Parameter(_zeros(tuple(param.shape), param.dtype), requires_grad=False)
                # the exporter serialises such a weight as zeros without reading it (onnx_export)
                made[id(param)].structure_zeros = True
            module._parameters[name] = made[id(param)]
    return model.eval()


# The reference builds its text encoders in float32 whatever their config.json names (a
# checkpoint saved from bfloat16 says "torch_dtype": "bfloat16"); transformers would otherwise
# build the module in that dtype, and the exported graph would compute in it.
TEXT_DTYPE = torch.float32


def _load_clip(folder: Path, dtype: torch.dtype = TEXT_DTYPE, weights: bool = True):
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    if not weights:
        config = CLIPTextConfig.from_pretrained(folder)
        return _structure(
            lambda: CLIPTextModelWithProjection._from_config(config, dtype=dtype),
            folder,
            ignored=("text_model.embeddings.position_ids",),
        )
    model = CLIPTextModelWithProjection._from_config(CLIPTextConfig.from_pretrained(folder), dtype=dtype)
    tensors = read_tensors(folder)
    tensors.pop("text_model.embeddings.position_ids", None)
    load_strict(model, tensors, folder.name)
    return model.eval()


def _load_llm(folder: Path, dtype: torch.dtype = TEXT_DTYPE, weights: bool = True, overrides: dict | None = None):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(folder)
    if not weights:
        tied = ("lm_head.weight",) if getattr(config, "tie_word_embeddings", True) else ()
        names = gemma_module_names(list(tensor_files(folder)))
        instead = None
        if overrides:
            narrow = AutoConfig.from_pretrained(folder, **overrides)
            instead = lambda: AutoModelForCausalLM.from_config(narrow, dtype=dtype)  # noqa: E731
        build = lambda: AutoModelForCausalLM.from_config(config, dtype=dtype)  # noqa: E731
        return _structure(build, folder, names, tied, build_instead=instead)
    if overrides:
        raise ExportError("another Gemma config is built only without the weights (weights=False)")
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    tensors = read_tensors(folder)
    names = gemma_module_names(list(tensors))
    tensors = {names[k]: v for k, v in tensors.items()}
    tied = ("lm_head.weight",) if getattr(config, "tie_word_embeddings", True) else ()
    load_strict(model, tensors, folder.name, allowed_missing=tied)
    return model.eval()


def _load_vq(folder: Path, weights: bool = True):
    from diffusers import VQModel

    config = read_json(folder / "config.json")
    if not weights:
        return _structure(lambda: VQModel.from_config(config), folder)
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
                allow_patterns=HUB_PATTERNS,
            )
        )
    except Exception as e:  # network, auth, missing repo: one line for the user
        raise ExportError(
            f"could not download {source} from the hub: {type(e).__name__}: {str(e).splitlines()[0]}"
        ) from None


def load_checkpoint(
    root: Path, text_dtype: torch.dtype = TEXT_DTYPE, weights: bool = True, llm_overrides: dict | None = None
) -> Checkpoint:
    """``text_dtype``: the dtype the text encoders are built and computed in (float32, as the
    reference, unless asked otherwise). ``weights=False``: the models of the checkpoint's configs,
    checked against its tensors' names and shapes, with zeros for weights and no tensor data
    read (graph templates, which depend on the config only); memory stays small at any size.
    ``llm_overrides`` (with ``weights=False``): Gemma is checked against its config but built with
    these fields changed (template.py's narrow Gemma export)."""
    root = Path(root)
    if not root.is_dir():
        raise ExportError(f"checkpoint folder {root} does not exist")
    for name in NEEDED:
        _subfolder(root, name)
    sub = next((s for s in TRANSFORMER_SUBFOLDERS if (root / s).is_dir()), None)
    if sub is None:
        raise ExportError(f"checkpoint {root} has no 'editmgt' (or 'transformer') subfolder")
    scheduler = read_json(root / "scheduler" / "scheduler_config.json")
    if "mask_token_id" not in scheduler:
        raise ExportError(f"{root}/scheduler/scheduler_config.json has no mask_token_id")
    with torch.no_grad():
        ckpt = Checkpoint(
            root=root,
            clip=_load_clip(root / "text_encoder", text_dtype, weights),
            llm=_load_llm(root / "llm_encoder", text_dtype, weights, llm_overrides),
            vq=_load_vq(root / "vqvae", weights),
            transformer=load_transformer(root / sub, weights),
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

    vocab = read_json(folder / "vocab.json")
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
    config = read_json(config_path) if config_path.is_file() else {}
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
