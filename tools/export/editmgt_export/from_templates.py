"""A checkpoint → a whole model package from templates, with numpy and onnxruntime alone (no torch,
no onnx, no transformers): the Python twin of the TypeScript converter (`npm run convert`,
src/engine/convert/convertPackage.ts), writing the same bytes.

- The templates (``python -m editmgt_export template``, or the shipped ones under ``templates/``,
  the first whose config and resolution match the checkpoint) give each graph's ``.onnx`` and
  weight map; ``weightmap.py`` writes the graphs' chunk files and token tables from the
  checkpoint's tensors, a block of rows at a time where the map allows.
- The tokenizers: ``tokenizer.json`` with the package's fixed length set inside it (the
  checkpoint's own file with its ``truncation`` and ``padding`` replaced, every other byte kept;
  or, where the folder has only ``vocab.json`` + ``merges.txt``, the CLIP tokenizer.json those
  stand for, laid out as the tokenizers library saves it), plus ``tokenizer_config.json`` and
  ``special_tokens_map.json`` as the checkpoint has them.
- A graph that a dtype's manifest entry takes from another dtype's folder (templates/shapes: q8's
  and q4's VQ graphs are fp32's) is written once; the files the templates carry (those their
  manifest lists that are no graph or tokenizer file: the shapes model's example pictures) are
  copied as they are, checked against their listed sha256.
- ``codebook_colors``: every code decoded as a 2×2 patch of mosaics by the converted
  ``vq_decode`` (a float32-computing one where the package has it) on onnxruntime, each patch's
  mean colour rounded to 6 decimals.
- The manifest: the templates' own, with this conversion's name, source (id and revision),
  dtypes, files (sizes and sha256), tokenizers, colours and generator, written as
  ``json.dumps(indent=1)``; then the model card (README.md, NOTICE).

Everything is written into a temporary sibling folder (``.<name>.converting-*``) that is renamed
into place once the package is whole and removed on any failure, so nothing half-written is ever
at the package's path.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from . import __version__
from .errors import ExportError
from .mosaics import codebook_mosaics
from .weightmap import MAP_SUFFIX, TRANSFORMER_SUBFOLDERS, Applier, Checkpoint, apply_graph

REPO = Path(__file__).resolve().parents[3]
SHIPPED_TEMPLATES = REPO / "templates"
SCHEMA_PATH = REPO / "src" / "engine" / "manifest.schema.json"
TOOL = f"editmgt_export {__version__} (from templates)"
NEEDED_SUBFOLDERS = ("tokenizer", "text_encoder", "llm_encoder", "vqvae", "scheduler")
TOKENIZERS = {"clip": ("tokenizer", "tokenizer_clip"), "llm": ("llm_encoder", "tokenizer_llm")}
CLIP_BOS, CLIP_EOS = "<|startoftext|>", "<|endoftext|>"
CLIP_WORD_PATTERN = (
    "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"
)


# ---------------------------------------------------------------------------------------------
# the checkpoint's configs against the templates'


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ExportError(f"{path} is not readable JSON ({str(e).splitlines()[0]})") from None
    if not isinstance(value, dict):
        raise ExportError(f"{path} is not a JSON object")
    return value


class CheckpointConfigs:
    """A checkpoint folder's subfolders and configs (no tensor is read here)."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ExportError(f"checkpoint folder {self.root} does not exist")
        for sub in NEEDED_SUBFOLDERS:
            if not (self.root / sub).is_dir():
                raise ExportError(f"checkpoint {self.root} has no '{sub}' subfolder")
        sub = next((s for s in TRANSFORMER_SUBFOLDERS if (self.root / s).is_dir()), None)
        if sub is None:
            raise ExportError(f"checkpoint {self.root} has no 'editmgt' (or 'transformer') subfolder")
        self.transformer_subfolder = sub

        def config(folder: str, name: str = "config.json") -> dict:
            if not (self.root / folder / name).is_file():
                raise ExportError(f"checkpoint {self.root} has no {folder}/{name}")
            return _read_json(self.root / folder / name)

        self.transformer = config(sub)
        self.vq = config("vqvae")
        self.scheduler = config("scheduler", "scheduler_config.json")
        config("text_encoder")
        config("llm_encoder")
        mask = self.scheduler.get("mask_token_id")
        if not isinstance(mask, int) or isinstance(mask, bool):
            raise ExportError(f"{self.root}/scheduler/scheduler_config.json has no mask_token_id")


def _same(a, b) -> bool:
    """JSON values equal as JavaScript's ``===`` compares them (a bool is no number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b and not isinstance(a, (dict, list))


def check_config(ckpt: CheckpointConfigs, config: dict, templates_name: str) -> None:
    """The config values the templates' manifest records, compared with the checkpoint's configs;
    the first that differs is named (the checkpoint's file and field, and the template's)."""
    mismatches = config_mismatches(ckpt, config, templates_name)
    if mismatches:
        raise ExportError(mismatches[0])


def config_mismatches(ckpt: CheckpointConfigs, config: dict, templates_name: str) -> list[str]:
    """Each config value the templates' manifest records that the checkpoint's configs contradict,
    as a message naming the checkpoint's file and field and the template's (in check order)."""
    t, sub = ckpt.transformer, ckpt.transformer_subfolder
    blocks = ckpt.vq.get("block_out_channels")
    checks = [
        ("codebook_size", f"{sub}/config.json codebook_size", t.get("codebook_size")),
        ("vocab_size", f"{sub}/config.json vocab_size", t.get("vocab_size")),
        ("mask_token_id", "scheduler/scheduler_config.json mask_token_id", ckpt.scheduler.get("mask_token_id")),
        (
            "masking_schedule",
            "scheduler/scheduler_config.json masking_schedule",
            "cosine" if ckpt.scheduler.get("masking_schedule") is None else ckpt.scheduler["masking_schedule"],
        ),
        (
            "vae_scale_factor",
            "vqvae/config.json block_out_channels (2^(length − 1))",
            2 ** (len(blocks) - 1) if isinstance(blocks, list) else blocks,
        ),
        ("text.clip_dim", f"{sub}/config.json pooled_projection_dim", t.get("pooled_projection_dim")),
        ("text.llm_dim", f"{sub}/config.json joint_attention_dim", t.get("joint_attention_dim")),
    ]
    for k in (
        "num_layers",
        "num_single_layers",
        "num_attention_heads",
        "attention_head_dim",
        "connector_type",
        "downsample",
        "upsample",
    ):
        checks.append((f"transformer.{k}", f"{sub}/config.json {k}", t.get(k)))
    out = []
    for path, what, found in checks:
        expected = config
        for key in path.split("."):
            expected = expected.get(key) if isinstance(expected, dict) else None
        if expected is None:
            continue
        if not _same(found, expected):
            out.append(
                f"{ckpt.root}/{what} is {json.dumps(found)}, but the templates ({templates_name}) are for "
                f"{json.dumps(expected)} (config.{path}); make templates for this config with the exporter's "
                "template command"
            )
    return out


def shipped_templates() -> list[Path]:
    if not SHIPPED_TEMPLATES.is_dir():
        return []
    return [d for d in sorted(SHIPPED_TEMPLATES.iterdir()) if (d / "manifest.json").is_file()]


def _resolution_key(config: dict) -> float:
    r = config.get("resolution")
    return float(r) if isinstance(r, (int, float)) else float("inf")


def find_templates(
    source: Path, candidates: list[Path], resolution: int | None = None, dtypes: list[str] | None = None
) -> Path:
    """The first of ``candidates`` made for the checkpoint's config, at ``resolution`` and with
    every one of ``dtypes`` when given (no ``resolution`` given: of those that fit, the first of
    the lowest resolution, so one config's 512 and 1024 px templates give 512 px). When none is,
    each candidate's reason, the closest first (the fewest contradicted config fields, then the
    resolution, then the fewest missing dtypes, then the lower resolution), so a checkpoint one
    field away from a template is told that field first (as the node converter's
    templateChoice.ts does)."""
    ckpt = CheckpointConfigs(source)
    refused = []
    fitting = []
    for d in candidates:
        manifest = _read_json(Path(d) / "manifest.json")
        config = manifest.get("config") or {}
        mismatches = config_mismatches(ckpt, config, str(d))
        wrong_resolution = resolution is not None and config.get("resolution") != resolution
        have = list(manifest.get("dtypes") or {})
        missing = [x for x in dict.fromkeys(dtypes or []) if x not in have]
        if mismatches:
            more = len(mismatches) - 1
            reason = mismatches[0] + (f" (and {more} more config field{'s' if more > 1 else ''})" if more else "")
        elif wrong_resolution:
            reason = f"made for {config.get('resolution')} px"
        elif missing:
            reason = f"has {', '.join(have)} only, not {', '.join(missing)}"
        else:
            fitting.append((_resolution_key(config), Path(d)))
            continue
        refused.append(
            ((len(mismatches), int(wrong_resolution), len(missing), _resolution_key(config)), f"{d}: {reason}")
        )
    if fitting:
        return min(fitting, key=lambda f: f[0])[1]  # min keeps the first among equals
    at = f" at {resolution} px" if resolution else ""
    # the closest first (a stable sort keeps the candidates' order among equals)
    lines = [line for _, line in sorted(refused, key=lambda r: r[0])]
    if lines:
        lines[0] = "closest: " + lines[0]
    raise ExportError(
        f"no shipped templates fit {source}{at}; make them with `python -m editmgt_export template --source "
        "<checkpoint> --dtype … --out <folder>` and pass --templates <folder>" + "".join(f"\n{r}" for r in lines)
    )


# ---------------------------------------------------------------------------------------------
# tokenizers


def _parse_vocab(text: str, where: str) -> dict[str, int]:
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise ExportError(f"{where} is not valid JSON ({e})") from None
    if not isinstance(raw, dict):
        raise ExportError(f"{where} is not a token → id object")
    seen: dict[int, str] = {}
    for token, i in raw.items():
        if not isinstance(i, int) or isinstance(i, bool) or i < 0:
            raise ExportError(f"{where}: token {json.dumps(token)} has id {json.dumps(i)}, not an id")
        if i in seen:
            raise ExportError(f"{where}: tokens {json.dumps(seen[i])} and {json.dumps(token)} share id {i}")
        seen[i] = token
    return raw


def _parse_merges(text: str, where: str, vocab: dict[str, int]) -> list[list[str]]:
    merges = []
    for i, line in enumerate(text.split("\n")):
        line = line[:-1] if line.endswith("\r") else line
        if not line or (i == 0 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise ExportError(
                f"{where} line {i + 1}: expected two pieces separated by one space, got {json.dumps(line)}"
            )
        a, b = parts
        for piece in (a, b, a + b):
            if piece not in vocab:
                raise ExportError(f"{where} line {i + 1}: {json.dumps(piece)} is not in the vocabulary")
        merges.append([a, b])
    return merges


def clip_tokenizer_json(vocab_text: str, merges_text: str, where: str) -> dict:
    """The tokenizer.json of a CLIP tokenizer folder that has only vocab.json + merges.txt: the
    CLIP fast tokenizer's pipeline, with tokenizers' key order (src/engine/convert/clipTokenizer.ts)."""
    vocab = _parse_vocab(vocab_text, f"{where}/vocab.json")
    merges = _parse_merges(merges_text, f"{where}/merges.txt", vocab)
    for token in (CLIP_BOS, CLIP_EOS):
        if token not in vocab:
            raise ExportError(f"{where}/vocab.json has no {token}: not a CLIP vocabulary")
    bos, eos = vocab[CLIP_BOS], vocab[CLIP_EOS]

    def special(i, content):
        return {
            "id": i,
            "content": content,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": sorted([special(bos, CLIP_BOS), special(eos, CLIP_EOS)], key=lambda a: a["id"]),
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "NFC"},
                {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
                {"type": "Lowercase"},
            ],
        },
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": CLIP_WORD_PATTERN}, "behavior": "Removed", "invert": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
            ],
        },
        "post_processor": {
            "type": "RobertaProcessing",
            "sep": [CLIP_EOS, eos],
            "cls": [CLIP_BOS, bos],
            "trim_offsets": False,
            "add_prefix_space": False,
        },
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
                {"type": "Replace", "pattern": {"String": "</w>"}, "content": " "},
                {"type": "Strip", "content": " ", "start": 0, "stop": 1},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": CLIP_EOS,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": "</w>",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1])),
            "merges": merges,
        },
    }


def _js_json(value, indent: int | None = None) -> str:
    """JSON text as JavaScript's JSON.stringify (and serde_json) writes it: non-ASCII kept."""
    return json.dumps(value, indent=indent, ensure_ascii=False)


def fixed_length_text(text: str, truncation: dict, padding: dict, where: str) -> str:
    """tokenizer.json's text with its ``truncation`` and ``padding`` replaced, every other byte kept."""
    parsed = json.loads(text)
    if _js_json(parsed.get("truncation")) == _js_json(truncation) and _js_json(parsed.get("padding")) == _js_json(
        padding
    ):
        return text

    def nested(v):
        return _js_json(v, 2).replace("\n", "\n  ")

    t = text.find('\n  "truncation": ')
    p = text.find('\n  "padding": ')
    m = re.search(r'\n {2}"[^"]+": ', text[p + 1 :]) if p >= 0 else None
    if t < 0 or p < t or m is None:
        raise ExportError(
            f"{where}: tokenizer.json is not laid out as the tokenizers library writes it; cannot set its padding"
        )
    end = p + 1 + m.start()
    return f'{text[:t]}\n  "truncation": {nested(truncation)},\n  "padding": {nested(padding)},{text[end:]}'


def _token_string(parsed: dict, token_id: int) -> str | None:
    for a in parsed.get("added_tokens") or []:
        if a.get("id") == token_id:
            return a.get("content")
    vocab = (parsed.get("model") or {}).get("vocab")
    if isinstance(vocab, dict):
        # JavaScript's object order: integer-like keys first, ascending
        ints = sorted((k for k in vocab if re.fullmatch(r"0|[1-9][0-9]{0,8}", k)), key=int)
        rest = [k for k in vocab if not re.fullmatch(r"0|[1-9][0-9]{0,8}", k)]
        for k in ints + rest:
            if vocab[k] == token_id:
                return k
    if isinstance(vocab, list) and 0 <= token_id < len(vocab):
        return vocab[token_id][0]
    return None


def write_tokenizers(root: Path, template: dict, out: Path) -> tuple[dict, list[str]]:
    """tokenizer_clip/ and tokenizer_llm/ into ``out``: the manifest's ``tokenizers`` and the files."""
    result, written = {}, []
    for key in ("clip", "llm"):
        entry = (template or {}).get(key)
        if not isinstance(entry, dict):
            raise ExportError(f"the templates' manifest has no tokenizers.{key}")
        sub, folder_name = TOKENIZERS[key]
        folder, where = root / sub, f"{root}/{sub}"
        made = None
        if (folder / "tokenizer.json").is_file():
            text = (folder / "tokenizer.json").read_text(encoding="utf-8")
            try:
                parsed = json.loads(text)
            except ValueError as e:
                raise ExportError(f"{where}/tokenizer.json is not valid JSON ({e})") from None
        elif (folder / "vocab.json").is_file():
            if not (folder / "merges.txt").is_file():
                raise ExportError(f"{where} has vocab.json but no merges.txt")
            made = parsed = clip_tokenizer_json(
                (folder / "vocab.json").read_text(encoding="utf-8"),
                (folder / "merges.txt").read_text(encoding="utf-8"),
                where,
            )
        else:
            spm = (
                " (a SentencePiece tokenizer.model alone is not read)" if (folder / "tokenizer.model").is_file() else ""
            )
            raise ExportError(f"{where} has neither tokenizer.json nor vocab.json + merges.txt{spm}")
        max_length, pad_id = entry["max_length"], entry["pad_id"]
        pad_token = _token_string(parsed, pad_id)
        if pad_token is None:
            raise ExportError(f"{where}: the tokenizer has no token {pad_id}, the package's pad_id")
        truncation = {"direction": "Right", "max_length": max_length, "strategy": "LongestFirst", "stride": 0}
        padding = {
            "strategy": {"Fixed": max_length},
            "direction": "Left" if entry.get("padding_side") == "left" else "Right",
            "pad_to_multiple_of": None,
            "pad_id": pad_id,
            "pad_type_id": 0,
            "pad_token": pad_token,
        }
        if made is not None:
            text = _js_json({**made, "truncation": truncation, "padding": padding}, 2)
        else:
            text = fixed_length_text(text, truncation, padding, where)
        (out / folder_name).mkdir(parents=True, exist_ok=True)
        (out / folder_name / "tokenizer.json").write_bytes(text.encode("utf-8"))
        listed = [f"{folder_name}/tokenizer.json"]
        for extra in ("tokenizer_config.json", "special_tokens_map.json"):
            if (folder / extra).is_file():
                shutil.copyfile(folder / extra, out / folder_name / extra)
                listed.append(f"{folder_name}/{extra}")
        copy = dict(entry)
        copy["files"] = listed
        result[key] = copy
        written += listed
    return result, written


# ---------------------------------------------------------------------------------------------
# codebook colours, revision, digests


def patch_means(pixels: np.ndarray, token_grid, block: int = 2) -> np.ndarray:
    """[n, 3, H, W] decoded mosaics → [n·patches, 3] mean colour of each patch (float64 sums)."""
    n, c, height, width = pixels.shape
    gh, gw = token_grid[0] // block, token_grid[1] // block
    patches = pixels.astype(np.float64).reshape(n, c, gh, height // gh, gw, width // gw).mean(axis=(3, 5))
    return patches.transpose(0, 2, 3, 1).reshape(-1, c)


def codebook_colors(graph: Path, codebook_size: int, token_grid, log=None) -> list[list[float]]:
    """Each code's mean RGB through the package's ``vq_decode`` on onnxruntime (CPU; no memory
    arena and no blocked convolution layout, as the TypeScript converter runs it), one mosaic at a
    time."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    options.log_severity_level = 3
    session = ort.InferenceSession(
        str(graph), options, providers=["CPUExecutionProvider"], disabled_optimizers=["NchwcTransformer"]
    )
    means = []
    mosaics = codebook_mosaics(codebook_size, token_grid)
    for i, m in enumerate(mosaics):
        (pixels,) = session.run(["pixels"], {"ids": m[None].astype(np.int32)})
        if pixels.dtype != np.float32 or pixels.ndim != 4:
            raise ExportError(f"{graph.name} gave no float32 pixels [1, 3, H, W]")
        means.append(patch_means(pixels, token_grid))
        if log:
            log(f"vq_decode: grid {i + 1} of {len(mosaics)} decoded")
    del session
    return [[round(float(v), 6) for v in rgb] for rgb in np.concatenate(means)[:codebook_size]]


def _files_under(root: Path, rel: str = "") -> list[str]:
    """A checkpoint's files (links followed, names starting with '.' left out), as the converter lists them."""
    out = []
    for entry in sorted(os.scandir(root / rel if rel else root), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        path = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_dir():
            out += _files_under(root, path)
        elif entry.is_file():
            out.append(path)
    return out


def content_revision(root: Path) -> str:
    """``content:`` + 16 hex digits of the sha256 of the checkpoint's JSON files and its weights'
    paths and sizes (the exporter's and the TypeScript converter's revision of a local folder)."""
    h = hashlib.sha256()
    files = [p for p in _files_under(root) if p.endswith(".json") or p.endswith(".safetensors")]
    for p in sorted(files, key=lambda p: p.split("/")):
        h.update(p.encode())
        h.update((root / p).read_bytes() if p.endswith(".json") else str((root / p).stat().st_size).encode())
    return "content:" + h.hexdigest()[:16]


def _digest(path: Path) -> tuple[str, int]:
    h, n = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 << 20), b""):
            h.update(block)
            n += len(block)
    return h.hexdigest(), n


def _rss_mib() -> str:
    try:
        with open("/proc/self/statm") as f:
            return f"{int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20:.0f}"
    except OSError:
        return "?"


# ---------------------------------------------------------------------------------------------
# the package


def _commit(tmp: Path, out: Path) -> None:
    if out.exists():
        aside = tmp.with_name(f"{tmp.name}.old")
        out.rename(aside)
        tmp.rename(out)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        tmp.rename(out)


def template_graphs(manifest: dict, dtypes: list[str], where: str) -> list[tuple[str, str]]:
    """The graphs converting ``dtypes`` writes, each once, as (graph, folder): a dtype's graph is
    written into the folder of its ``file`` from that folder's template and map. A dtype may name
    another dtype's files for a graph (templates/shapes: q8's and q4's VQ graphs compute in fp32
    and are fp32's files); that graph is then written once, whichever dtypes are converted."""
    out: list[tuple[str, str]] = []
    for d in dtypes:
        graphs = (manifest["dtypes"].get(d) or {}).get("graphs")
        if not isinstance(graphs, dict):
            raise ExportError(f"{where}: dtypes.{d} has no graphs")
        for graph, entry in graphs.items():
            file = entry.get("file") if isinstance(entry, dict) else None
            folder, _, name = file.rpartition("/") if isinstance(file, str) else ("", "", "")
            if not folder or name != f"{graph}.onnx":
                raise ExportError(
                    f"{where}: dtypes.{d}.graphs.{graph}.file is {json.dumps(file)}, not <folder>/{graph}.onnx"
                )
            if (graph, folder) not in out:
                out.append((graph, folder))
    return out


def carried_files(manifest: dict, where: str) -> list[dict]:
    """The files the templates carry into every package they make, in the manifest's order: those
    its ``files`` lists that are no dtype's graph file (graph, external data, token table) and no
    tokenizer file (templates/shapes: the domain's example pictures). Each is in the templates
    folder at its package path and is copied verbatim."""
    made = set()
    for entry in manifest["dtypes"].values():
        for g in (entry or {}).get("graphs", {}).values():
            made.update([g.get("file"), *g.get("external_data", []), (g.get("token_table") or {}).get("file")])
    for tok in (manifest.get("tokenizers") or {}).values():
        made.update(tok.get("files", []))
    out = []
    for i, f in enumerate(manifest.get("files") or []):
        if f.get("path") in made:
            continue
        if not isinstance(f.get("bytes"), int) or not re.fullmatch(r"[0-9a-f]{64}", str(f.get("sha256"))):
            raise ExportError(f"{where}: files[{i}] ({f.get('path')}) has no bytes and sha256")
        if not isinstance(f.get("path"), str) or ".." in f["path"].split("/") or f["path"].startswith("/"):
            raise ExportError(f"{where}: files[{i}] has the path {json.dumps(f.get('path'))}, outside the package")
        out.append(f)
    return out


def convert_from_templates(
    source: Path,
    templates: Path,
    out: Path,
    dtypes,
    *,
    resolution: int | None = None,
    name: str | None = None,
    source_id: str | None = None,
    revision: str | None = None,
    card: dict | None = None,
    log=None,
) -> dict:
    """Converts (see the module's comment); returns a report (out, files, bytes read and
    written). ``card``: the model card's options (``repo``, ``editor_url``, ``from_editmgt``), or
    None for no card. Raises ExportError naming the file, tensor or field on bad input."""
    source, templates, out = Path(source), Path(templates), Path(out)
    started = time.time()
    phase_started = [started]

    def say(line: str) -> None:
        if log:
            log(f"{line} [rss {_rss_mib()} MiB]")

    def phase(line: str) -> None:
        now = time.time()
        say(f"{line} in {now - phase_started[0]:.1f} s ({now - started:.1f} s in all)")
        phase_started[0] = now

    if not (templates / "manifest.json").is_file():
        raise ExportError(
            f"templates folder {templates.resolve()} has no manifest.json; make templates with "
            "`python -m editmgt_export template --source <checkpoint> --dtype … --out <folder>`"
        )
    template_manifest = _read_json(templates / "manifest.json")
    config = template_manifest.get("config") or {}
    res = config.get("resolution")
    if resolution is not None and resolution != res:
        raise ExportError(
            f"the templates at {templates} are for resolution {res}, not {resolution}; make templates at "
            f"{resolution} px with the exporter's template command"
        )
    dtype_entries = template_manifest.get("dtypes")
    if not isinstance(dtype_entries, dict):
        raise ExportError(f"{templates}/manifest.json has no dtypes")
    dtypes = list(dict.fromkeys(dtypes))
    if not dtypes:
        raise ExportError("no dtype asked for")
    for d in dtypes:
        if d not in dtype_entries:
            raise ExportError(f"the templates at {templates} have no {d} dtype (they have: {', '.join(dtype_entries)})")
    configs = CheckpointConfigs(source)
    check_config(configs, config, str(templates))
    root = configs.root
    phase("checkpoint configs read")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.converting-", dir=out.parent))
    try:
        ckpt = Checkpoint(root)
        written: list[str] = []
        applier, applier_folder = None, None
        where = f"{templates}/manifest.json"
        # each graph once, into the folder its entry names (a dtype may share another dtype's files)
        for graph, folder in template_graphs(template_manifest, dtypes, where):
            map_path = templates / folder / f"{graph}{MAP_SUFFIX}"
            if not map_path.is_file():
                raise ExportError(f"the templates at {templates} have no {folder}/{graph}{MAP_SUFFIX}")
            weight_map = _read_json(map_path)
            if weight_map.get("graph") != graph or weight_map.get("dtype") != folder:
                raise ExportError(
                    f"{templates}/{folder}/{graph}{MAP_SUFFIX} is the map of {weight_map.get('dtype')}/{weight_map.get('graph')}"
                )
            if folder != applier_folder:
                # an applier's cache (the last quantised weight) serves one folder's graphs
                applier, applier_folder = Applier(ckpt), folder
            say(f"{folder}/{graph}")
            before = ckpt.bytes_read
            files = apply_graph(applier, templates / folder, graph, tmp / folder)
            written += [p.relative_to(tmp).as_posix() for p in files]
            phase(f"{graph} ({folder}) written, {(ckpt.bytes_read - before) / 1e6:.1f} MB of tensors read")
        del applier

        tokenizers, tokenizer_files = write_tokenizers(root, template_manifest.get("tokenizers"), tmp)
        written += tokenizer_files
        phase("tokenizers written")

        # the files the templates carry (the model's example pictures), copied as they are
        carried = carried_files(template_manifest, where)
        for f in carried:
            src = templates / f["path"]
            if not src.is_file():
                raise ExportError(f"the templates at {templates} have no {f['path']}, which their manifest lists")
            if src.stat().st_size != f["bytes"]:
                raise ExportError(
                    f"{src} has {src.stat().st_size} bytes, but the templates' manifest lists {f['bytes']} for {f['path']}"
                )
            (tmp / f["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, tmp / f["path"])
        if carried:
            phase(f"{len(carried)} files copied from the templates")

        k = config["codebook_size"]
        grid = config["resolutions"][str(res)]["token_grid"]

        def computes_fp32(d: str) -> bool:
            return (dtype_entries[d]["graphs"].get("vq_decode", {}).get("dtype") or d) == "fp32"

        pick = "fp32" if "fp32" in dtypes else next((d for d in dtypes if computes_fp32(d)), dtypes[0])
        graph_file = dtype_entries[pick]["graphs"]["vq_decode"]["file"]
        colors = codebook_colors(tmp / graph_file, k, grid, log=say)
        phase(f"codebook colours: {-(-k // ((grid[0] // 2) * (grid[1] // 2)))} VQ decodes with the {pick} vq_decode")

        # the converted files in path order, then the carried ones in the templates' order
        listed = {f["path"]: f for f in carried}
        files, bytes_written = [], 0
        for path in [*sorted(written, key=lambda p: p.split("/")), *listed]:
            digest, n = _digest(tmp / path)
            if path in listed and digest != listed[path]["sha256"]:
                raise ExportError(
                    f"{templates}/{path} is not the file the templates' manifest lists "
                    f"(sha256 {digest}, listed {listed[path]['sha256']})"
                )
            bytes_written += n
            files.append({"path": path, "bytes": n, "sha256": digest})
        phase(f"sha256 of {len(files)} files ({bytes_written / 1e6:.1f} MB) read back")

        manifest = {}
        for key, value in template_manifest.items():
            if key == "name":
                manifest[key] = name if name is not None else out.name
            elif key == "source":
                manifest[key] = {
                    "id": source_id if source_id is not None else str(source),
                    "revision": revision or content_revision(root),
                }
            elif key == "dtypes":
                manifest[key] = {d: dtype_entries[d] for d in dtypes}
            elif key == "files":
                manifest[key] = files
            elif key == "config" and isinstance(value, dict):
                c = dict(value)
                c["max_buffer_bytes"] = max(dtype_entries[d].get("max_buffer_bytes") or 0 for d in dtypes)
                manifest[key] = c
            elif key == "tokenizers":
                manifest[key] = tokenizers
            elif key == "codebook_colors":
                manifest[key] = colors
            elif key == "generator":
                manifest[key] = {"tool": TOOL}
            else:
                manifest[key] = value
        try:
            import jsonschema

            jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(manifest)
        except jsonschema.ValidationError as e:
            raise ExportError(f"the converted manifest is not valid: {e.message}") from None
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if card is not None:
            from .model_card import write_card

            write_card(tmp, **card)
        phase("manifest written")
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's folder is private; a web server must read the package
        _commit(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {
        "out": str(out.resolve()),
        "templates": str(templates),
        "dtypes": dtypes,
        "files": len(files) + 1,
        "bytes_read": ckpt.bytes_read,
        "bytes_written": bytes_written,
    }


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
