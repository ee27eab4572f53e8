"""The model card (``README.md``) of a converted package: what it was made from, its dtypes and
their sizes, the licence notices of the models it derives from, and a link that opens it in the
editor. Text only, from the manifest and a few arguments (no clock, no network), so the same
package always gets the same card; a converter writes it beside ``manifest.json``.

The licence facts, and where they are stated:
- EditMGT (the transformer and VQ model): CC BY 4.0, per the README of
  https://github.com/weichow23/EditMGT ("This project is licensed under the CCBY-4.0 License").
- Gemma 2 (the instruction encoder): the Gemma Terms of Use, https://ai.google.dev/gemma/terms.
  Section 3.1 asks every Distribution to carry a notice file with the sentence ``GEMMA_NOTICE``,
  to pass on the use restrictions of Section 3.2 (the Prohibited Use Policy) and a copy of the
  terms, and to say that modified files were modified.
- CLIP ViT-H/14 (the CLIP text encoder, OpenCLIP's LAION-2B model): MIT, per the model card of
  https://huggingface.co/laion/CLIP-ViT-H-14-laion2B-s32B-b79K and OpenCLIP's licence.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import quote

GEMMA_NOTICE = "Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms"
GEMMA_TERMS = "https://ai.google.dev/gemma/terms"
GEMMA_POLICY = "https://ai.google.dev/gemma/prohibited_use_policy"
EDITMGT_REPO = "https://github.com/weichow23/EditMGT"
EDITMGT_CHECKPOINT = "https://huggingface.co/WeiChow/EditMGT"
CLIP_CARD = "https://huggingface.co/laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
OPENCLIP_REPO = "https://github.com/mlfoundations/open_clip"


def resolve_url(repo: str, revision: str = "main") -> str:
    """The folder URL a hub model repo serves its files from (what the editor opens)."""
    return f"https://huggingface.co/{repo}/resolve/{revision}/"


def open_link(editor_url: str, package_url: str) -> str:
    """The editor's page with the package named in its ``?model=`` link."""
    return f"{editor_url.rstrip('/')}/?model={quote(package_url, safe='')}"


def _dtype_bytes(manifest: dict) -> dict[str, int]:
    """Bytes a download of each dtype takes: its graphs, their chunks and token tables, the tokenizers."""
    size = {f["path"]: f["bytes"] for f in manifest["files"]}
    tokenizers = {p for t in manifest.get("tokenizers", {}).values() for p in t.get("files", [])}
    out = {}
    for dtype, entry in manifest["dtypes"].items():
        paths = set(tokenizers)
        for graph in entry["graphs"].values():
            paths.add(graph["file"])
            paths.update(graph.get("external_data", []))
            if "token_table" in graph:
                paths.add(graph["token_table"]["file"])
        out[dtype] = sum(size.get(p, 0) for p in paths)
    return out


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def model_card(
    manifest: dict,
    *,
    repo: str | None = None,
    revision: str = "main",
    editor_url: str | None = None,
    from_editmgt: bool = True,
) -> str:
    """The card's Markdown for the package ``manifest`` describes.

    ``repo`` ("owner/name") is the hub repo it is published in, ``editor_url`` a deployed copy of
    the editor; with both the card links straight to the package open in the editor.
    ``from_editmgt``: converted from the published EditMGT checkpoint (its Gemma and CLIP text
    encoders included), so the three licence notices apply; a package trained from scratch (the
    shapes model) or with random weights says so instead."""
    name = manifest["name"]
    source = manifest.get("source", {})
    generator = manifest.get("generator", {})
    package_url = resolve_url(repo, revision) if repo else "https://huggingface.co/<owner>/<repo>/resolve/main/"
    lines = [
        "---",
        "license: other",
        "license_name: editmgt-cc-by-4.0-gemma-terms-mit" if from_editmgt else "license_name: see-card",
        "tags:",
        "- editmgt",
        "- onnx",
        "- image-editing",
        "---",
        "",
        f"# {name}",
        "",
        "An EditMGT model package for EditMGT Web, the in-browser image editor: ONNX graphs for "
        "onnxruntime-web (WebGPU and WASM), the tokenizers, and `manifest.json`, which lists every "
        "file with its size and sha256.",
        "",
        "## Open it in the editor",
        "",
    ]
    if repo and editor_url:
        link = open_link(editor_url, package_url)
        lines += [f"[Open {name} in the editor]({link})", ""]
    short = f"hf:{repo}" + (f"@{revision}" if revision != "main" else "") if repo else None
    lines += [
        f"In the editor's Model panel, choose *Hosted package (URL)…* and enter `{package_url}`"
        + (f" or its short form `{short}`" if short else "")
        + (f", or open `{editor_url.rstrip('/')}/?model=<that URL>`." if editor_url else "."),
        "The editor asks before downloading from another site, shows the download size, verifies "
        "every file's sha256 and keeps the package for offline use.",
        "",
        "## Source",
        "",
        f"- Made from: `{source.get('id', 'unknown')}`"
        + (f" (revision `{source['revision']}`)" if source.get("revision") else ""),
    ]
    if generator.get("tool"):
        versions = ", ".join(f"{k} {v}" for k, v in sorted(generator.get("versions", {}).items()))
        lines.append(f"- Converted by: {generator['tool']}" + (f" ({versions})" if versions else ""))
    if from_editmgt:
        lines.append(f"- Checkpoint: [WeiChow/EditMGT]({EDITMGT_CHECKPOINT}); code: [{EDITMGT_REPO}]({EDITMGT_REPO})")
    sizes = _dtype_bytes(manifest)
    lines += [
        "",
        "## Dtypes",
        "",
        "| dtype | runs on | download |",
        "|---|---|---|",
    ]
    for dtype, entry in manifest["dtypes"].items():
        lines.append(f"| {dtype} | {', '.join(entry.get('providers', []))} | {_mb(sizes[dtype])} |")
    total = sum(f["bytes"] for f in manifest["files"])
    lines += [
        "",
        f"{len(manifest['files'])} files, {_mb(total)} in all; the editor downloads one dtype.",
        "",
        "## Licences",
        "",
    ]
    if from_editmgt:
        lines += [
            "This package is converted from EditMGT and the text encoders it uses; each keeps its own licence.",
            "The conversion modified the weights' files: they were exported to ONNX and, for dtypes "
            "other than fp32, quantised or cast.",
            "",
            f"- **EditMGT** (transformer and VQ model): CC BY 4.0, as the [EditMGT repository]({EDITMGT_REPO}) "
            "states. Credit: Chow et al., *EditMGT: Unleashing Potentials of Masked Generative "
            "Transformers in Image Editing* (arXiv:2512.11715).",
            f"- **Gemma 2** (instruction encoder, `text_llm`): the [Gemma Terms of Use]({GEMMA_TERMS}). "
            f"{GEMMA_NOTICE}. You must not use it for the restricted uses in the "
            f"[Gemma Prohibited Use Policy]({GEMMA_POLICY}) or in violation of applicable laws and regulations.",
            f"- **CLIP ViT-H/14, LAION-2B** (CLIP text encoder, `text_clip`): MIT, per its "
            f"[model card]({CLIP_CARD}) and [OpenCLIP]({OPENCLIP_REPO}).",
        ]
    else:
        lines += [
            "This package is not converted from the published EditMGT checkpoint: its weights come "
            "from the source above, and no Gemma or CLIP weights are in it.",
        ]
    return "\n".join(lines) + "\n"


def notice_text(from_editmgt: bool = True) -> str:
    """The ``NOTICE`` file the Gemma Terms of Use (Section 3.1) ask a Distribution to carry."""
    return f"{GEMMA_NOTICE}\n" if from_editmgt else ""


def write_card(package: Path, **options) -> list[Path]:
    """Writes ``README.md`` (and, for a package from EditMGT, ``NOTICE``) into the package folder.
    Neither is listed in the manifest's ``files``: the editor downloads only listed files, so the
    card changes no byte the editor reads."""
    manifest = json.loads((package / "manifest.json").read_text())
    written = [package / "README.md"]
    written[0].write_text(model_card(manifest, **options))
    notice = notice_text(options.get("from_editmgt", True))
    if notice:
        (package / "NOTICE").write_text(notice)
        written.append(package / "NOTICE")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m editmgt_export.model_card",
        description="Write a converted package's model card (README.md) and Gemma NOTICE file.",
    )
    parser.add_argument("package", type=Path, help="the package folder (holds manifest.json)")
    parser.add_argument("--repo", help="the hub repo it is published in, owner/name")
    parser.add_argument("--revision", default="main")
    parser.add_argument("--editor-url", help="a deployed copy of the editor, for the open link")
    parser.add_argument(
        "--not-from-editmgt",
        action="store_true",
        help="the weights are not EditMGT's (trained from scratch, random): no Gemma/CLIP notices",
    )
    args = parser.parse_args(argv)
    for path in write_card(
        args.package,
        repo=args.repo,
        revision=args.revision,
        editor_url=args.editor_url,
        from_editmgt=not args.not_from_editmgt,
    ):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
