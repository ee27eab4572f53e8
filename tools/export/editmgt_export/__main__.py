"""CLI: python -m editmgt_export {tiny,goldens,convert,from-templates,template,relayout,fullsize,layouts} (run with cwd tools/export)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import ExportError
from .quiet import quiet

REPO = Path(__file__).resolve().parents[3]
TINY_OUT = REPO / "public" / "models" / "tiny-random"
GOLDENS_OUT = REPO / "tools" / "export" / "goldens" / "tiny-random"
CACHE = REPO / "tools" / "export" / ".cache"
# convert's default: at 512 px the full-size model's largest buffer fits the 128 MiB storage
# binding many WebGPU adapters have (numbers in README.md); 1024 px is a conversion option
BROWSER_RESOLUTION = 512


def cmd_tiny(args):
    from .checkpoint import load_checkpoint
    from .package import write_package
    from .tiny import TINY_CHUNK_BYTES, TINY_RESOLUTION, build_tiny_checkpoint

    ckpt_dir = build_tiny_checkpoint(
        Path(args.checkpoint_out) if args.checkpoint_out else CACHE / f"tiny-random-seed{args.seed}", args.seed
    )
    ckpt = load_checkpoint(ckpt_dir)
    write_package(
        ckpt,
        Path(args.out),
        args.dtype.split(","),
        name="tiny-random",
        source=f"editmgt_export tiny --seed {args.seed}",
        resolution=TINY_RESOLUTION,
        dated=False,
        chunk_bytes=TINY_CHUNK_BYTES,
    )
    print(f"wrote {args.out}")
    if args.goldens_out:
        from .goldens import write_goldens

        write_goldens(Path(args.out), Path(args.goldens_out), seed=args.seed)
        print(f"wrote {args.goldens_out}")


def parse_graph_dtypes(text: str | None) -> dict[str, dict[str, str]]:
    """ "q4f16:text_llm=fp32,q4f16:text_clip=fp32" -> {"q4f16": {"text_llm": "fp32", "text_clip": "fp32"}}"""
    out: dict[str, dict[str, str]] = {}
    for item in filter(None, (text or "").split(",")):
        dtype, _, rest = item.partition(":")
        graph, _, compute = rest.partition("=")
        out.setdefault(dtype.strip(), {})[graph.strip()] = compute.strip()
    return out


def cmd_convert(args):
    from .checkpoint import load_checkpoint, resolve_source
    from .package import write_package

    root = resolve_source(args.source)
    ckpt = load_checkpoint(root)
    blocks = [int(b) for b in args.attention_blocks.split(",")] if args.attention_blocks else None
    name = args.name or Path(args.out).name
    write_package(
        ckpt,
        Path(args.out),
        args.dtype.split(","),
        name=name,
        source=args.source,
        resolution=args.resolution,
        attention_blocks=blocks,
        fp32_dir=Path(args.keep_fp32) if args.keep_fp32 else None,
        graph_dtypes=parse_graph_dtypes(args.graph_dtype),
        card=None
        if args.no_card
        else {"repo": args.repo, "editor_url": args.editor_url, "from_editmgt": not args.not_from_editmgt},
    )
    print(f"wrote {args.out}")


def cmd_from_templates(args):
    import json
    import resource
    import signal
    import time

    from .from_templates import convert_from_templates, find_templates, shipped_templates

    # a terminated conversion unwinds like an interrupted one: its temporary folder is removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    started, cpu0 = time.time(), time.process_time()
    dtypes = [d.strip() for d in args.dtype.split(",")]
    log = None if args.quiet or args.json else (lambda line: print(f"convert: {line}", file=sys.stderr, flush=True))
    templates = (
        Path(args.templates)
        if args.templates
        else find_templates(Path(args.source), shipped_templates(), args.resolution, dtypes)
    )
    if log:
        log(f"templates {templates}")
    card = (
        None
        if args.no_card
        else {"repo": args.repo, "editor_url": args.editor_url, "from_editmgt": not args.not_from_editmgt}
    )
    report = convert_from_templates(
        Path(args.source),
        templates,
        Path(args.out),
        dtypes,
        resolution=args.resolution,
        name=args.name,
        source_id=args.source_id if args.source_id is not None else args.source,
        card=card,
        log=log,
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report.update(
        wall_s=round(time.time() - started, 3),
        cpu_s=round(time.process_time() - cpu0, 3),
        peak_rss_bytes=usage.ru_maxrss * 1024,
    )
    if args.json:
        print(json.dumps(report, indent=1))
    elif log:
        log(
            f"wrote {report['out']} in {report['wall_s']} s ({report['cpu_s']} s of CPU, "
            f"peak RSS {report['peak_rss_bytes'] / 2**20:.0f} MiB)"
        )


def parse_narrow_llm(text: str):
    if text in ("auto", "off"):
        return None if text == "off" else text
    try:
        width, rows = (int(x) for x in text.split(":"))
    except ValueError:
        raise ExportError(f"--narrow-llm {text!r}: expected auto, off or WIDTH:ROWS (e.g. 96:512)") from None
    return width, rows


def cmd_template(args):
    from .template import build_templates

    blocks = [int(b) for b in args.attention_blocks.split(",")] if args.attention_blocks else None
    build_templates(
        Path(args.source),
        args.dtype.split(","),
        Path(args.out),
        resolution=args.resolution,
        chunk_bytes=args.chunk_bytes,
        attention_blocks=blocks,
        graph_dtypes=parse_graph_dtypes(args.graph_dtype),
        narrow_llm=parse_narrow_llm(args.narrow_llm),
    )
    print(f"wrote {args.out}")


def cmd_goldens(args):
    from . import clip_text, clip_text_goldens, preprocess_goldens
    from .goldens import write_goldens

    write_goldens(Path(args.package), Path(args.out), seed=args.seed)
    print(f"wrote {args.out}")
    preprocess_goldens.write()
    print(f"wrote {preprocess_goldens.OUT}")
    clip_text.write_tables()
    clip_text_goldens.write()
    print(f"wrote {clip_text.TABLES} and {clip_text_goldens.OUT}")


def cmd_relayout(args):
    from .relayout import relayout_package

    m = relayout_package(Path(args.package), args.chunk_bytes)
    print(f"rewrote {args.package} ({len(m['files'])} files)")


def cmd_fullsize(args):
    from .fullsize import run_fullsize

    run_fullsize(
        Path(args.work),
        args.dtype.split(","),
        include_text=args.with_text_encoders,
        threads=args.threads,
        node=not args.no_node,
        rebuild=args.rebuild,
    )


def cmd_layouts(args):
    from .layouts import LAYOUTS, write_layouts

    names = tuple(args.only.split(",")) if args.only else LAYOUTS
    try:
        folders = write_layouts(Path(args.out), args.seed, names)
    except ValueError as e:
        raise ExportError(str(e)) from None
    for name, folder in folders.items():
        print(f"{name}: {folder}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m editmgt_export", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser(
        "tiny", help="build the tiny random checkpoint, convert it to public/models/tiny-random, write the goldens"
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default=str(TINY_OUT))
    t.add_argument("--dtype", default="fp32,fp16,q4,q4f16,q8")
    t.add_argument("--checkpoint-out", default=None, help="where to keep the hub-layout checkpoint")
    t.add_argument("--goldens-out", default=str(GOLDENS_OUT), help="golden fixtures from the new package ('' to skip)")
    t.set_defaults(fn=cmd_tiny)
    g = sub.add_parser("goldens", help="write golden fixtures from the tiny package")
    g.add_argument("--package", default=str(TINY_OUT))
    g.add_argument("--out", default=str(GOLDENS_OUT))
    g.add_argument("--seed", type=int, default=0)
    g.set_defaults(fn=cmd_goldens)
    c = sub.add_parser("convert", help="convert a hub-layout checkpoint (folder or hub id) into a model package")
    c.add_argument("--source", required=True, help="checkpoint folder or hub id, e.g. WeiChow/EditMGT")
    c.add_argument("--dtype", default="q4", help="comma list of fp32,fp16,q4,q4f16,q8")
    c.add_argument("--out", required=True)
    c.add_argument(
        "--resolution",
        type=int,
        default=BROWSER_RESOLUTION,
        help=f"pixels (default {BROWSER_RESOLUTION}: every activation of the full-size model under 128 MiB; 1024 needs larger GPU buffers)",
    )
    c.add_argument("--attention-blocks", default=None, help="comma list, default 28..36 (or the single blocks)")
    c.add_argument("--name", default=None)
    c.add_argument(
        "--keep-fp32",
        default=None,
        metavar="DIR",
        help="keep the fp32 export in DIR and reuse it next time (e.g. to add a dtype later)",
    )
    c.add_argument(
        "--graph-dtype",
        default=None,
        metavar="DTYPE:GRAPH=COMPUTE,...",
        help="a graph's own compute dtype, e.g. q4f16:text_llm=fp32 (Gemma in fp32 beside a q4f16 transformer)",
    )
    c.add_argument(
        "--repo", default=None, help="the hub repo it will be published in (owner/name), for the card's link"
    )
    c.add_argument("--editor-url", default=None, help="a deployed copy of the editor, for the card's open link")
    c.add_argument(
        "--not-from-editmgt",
        action="store_true",
        help="the weights are not EditMGT's (random, trained from scratch): the card claims no Gemma/CLIP licence",
    )
    c.add_argument("--no-card", action="store_true", help="write no model card (README.md, NOTICE)")
    c.set_defaults(fn=cmd_convert)
    ft = sub.add_parser(
        "from-templates",
        help="a checkpoint → a whole package from templates, with numpy and onnxruntime (no torch); as npm run convert",
    )
    ft.add_argument("--source", required=True, help="checkpoint folder in hub layout")
    ft.add_argument("--dtype", default="q4", help="comma list of fp32,fp16,q4,q4f16,q8")
    ft.add_argument("--out", required=True, help="the package folder (replaced only once the new package is whole)")
    ft.add_argument("--resolution", type=int, default=None, help="the package's resolution (default: the templates')")
    ft.add_argument(
        "--templates",
        default=None,
        help="templates made by the template command (default: the first shipped ones under templates/ that fit)",
    )
    ft.add_argument("--name", default=None, help="the manifest's name (default: the --out folder's name)")
    ft.add_argument("--source-id", default=None, help="the manifest's source.id (default: --source)")
    ft.add_argument("--repo", default=None, help="the hub repo it will be published in (owner/name), for the card")
    ft.add_argument("--editor-url", default=None, help="a deployed copy of the editor, for the card's open link")
    ft.add_argument(
        "--not-from-editmgt", action="store_true", help="the weights are not EditMGT's: no Gemma/CLIP notices"
    )
    ft.add_argument("--no-card", action="store_true", help="write no model card (README.md, NOTICE)")
    ft.add_argument(
        "--json", action="store_true", help="print wall and CPU time, peak RSS, bytes read and written as JSON"
    )
    ft.add_argument("--quiet", action="store_true", help="no progress lines")
    ft.set_defaults(fn=cmd_from_templates)
    tp = sub.add_parser(
        "template", help="graph templates and weight maps for a checkpoint's config (its weight values are not used)"
    )
    tp.add_argument("--source", required=True, help="checkpoint folder (its configs and tokenizers)")
    tp.add_argument("--dtype", default="q4", help="comma list of fp32,fp16,q4,q4f16,q8")
    tp.add_argument("--out", required=True)
    tp.add_argument("--resolution", type=int, default=BROWSER_RESOLUTION)
    tp.add_argument("--chunk-bytes", type=int, default=None, help="external-data chunk size (default 1 GiB)")
    tp.add_argument("--attention-blocks", default=None)
    tp.add_argument("--graph-dtype", default=None, metavar="DTYPE:GRAPH=COMPUTE,...")
    tp.add_argument(
        "--narrow-llm",
        default="auto",
        metavar="auto|off|WIDTH:ROWS",
        help="export Gemma with a narrow MLP and table, then widen its q4 graph (auto: where it is large and only q4 is asked)",
    )
    tp.set_defaults(fn=cmd_template)
    r = sub.add_parser("relayout", help="move an existing package's graph weights into external-data chunks")
    r.add_argument("package")
    r.add_argument("--chunk-bytes", type=int, default=1 << 30)
    r.set_defaults(fn=cmd_relayout)
    f = sub.add_parser("fullsize", help="real architecture, random weights: convert, load, time one step on CPU")
    f.add_argument("--work", default=str(CACHE / "fullsize"), help="checkpoint, package and report.json go here")
    f.add_argument("--dtype", default="fp16,q4")
    f.add_argument(
        "--with-text-encoders",
        action="store_true",
        help="real-size CLIP-H and Gemma2-2B instead of stand-ins (untested here: needs far more than 24 GB)",
    )
    f.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0 = all cores)")
    f.add_argument("--no-node", action="store_true", help="skip the onnxruntime-node check")
    f.add_argument("--rebuild", action="store_true", help="rebuild the random checkpoint even if present")
    f.set_defaults(fn=cmd_fullsize)
    lay = sub.add_parser(
        "layouts", help="the tiny random checkpoint re-saved in each hub layout (sharded, variants, bf16, ...)"
    )
    lay.add_argument("--out", required=True, help="one folder per layout is written here")
    lay.add_argument("--seed", type=int, default=0)
    lay.add_argument("--only", default=None, help="comma list of layouts (default: all)")
    lay.set_defaults(fn=cmd_layouts)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "from-templates":  # that one imports no third-party model library
        quiet()
    try:
        args.fn(args)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
