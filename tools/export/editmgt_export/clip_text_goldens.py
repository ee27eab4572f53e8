"""Golden CLIP ids for the engine's text normalisation: a corpus of instructions with the
characters a user's keyboard or a paste brings (curly quotes and apostrophes, full-width
letters, HTML entities, ligatures, emoji, CJK, accents, odd whitespace and control characters),
tokenized as the reference does (slow CLIP tokenizer + ftfy = clip_text.normalize_clip_text,
then the package's tokenizer.json with its padding and truncation).

Writes goldens/clip-text/index.json. Run:
  cd tools/export && .venv/bin/python -m editmgt_export.clip_text_goldens
``check_slow_tokenizer`` compares the same corpus with transformers' slow CLIPTokenizer (only in
transformers < 5, which still has it; not the project's pinned version), to run by hand:
  python -c "from editmgt_export.clip_text_goldens import check_slow_tokenizer; check_slow_tokenizer()"
Measured with transformers 4.47.0 + ftfy 6.3.1: 330/330 prompts give identical ids on the tiny
tokenizer, and also on the real CLIP vocabulary (49,408 tokens, built from open_clip's
bpe_simple_vocab_16e6 as CLIP does), where the engine's TypeScript path gave 330/330 too; the
tokenizer.json alone, without the normalisation, agreed on 91 (Python) / 116 (engine) of 330.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tokenizers import Tokenizer

from .clip_text import normalize_clip_text

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "public" / "models" / "tiny-random"
OUT = REPO / "tools" / "export" / "goldens" / "clip-text"

BASE = [
    "make the car blue",
    "turn the sky into a sunset",
    "remove the person on the left",
    "add a red hat to the cat",
    "replace the dog with a fox",
    "make it look like a watercolor painting",
    "change the season to winter",
    "put sunglasses on the man",
    "make the house look old",
    "add snow on the roof",
    "turn the apple green",
    "make the water clearer",
    "add a rainbow over the hills",
    "change the shirt to stripes",
    "remove the text",
    "make the flowers purple",
    "add a moon in the sky",
    "make her smile",
    "turn day into night",
    "add fog to the street",
    "make the coffee cup bigger",
    "paint the wall yellow",
    "add birds in the sky",
    "make the cat a tiger",
    "change the background to a beach",
    "make it ghibli style",
]


# one transformation per family, applied to the base instructions
def _curly(s):
    return f"\u201c{s}\u201d, it\u2019s what I\u2019d like \u2018now\u2019"


def _fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in s)


def _entities(s):
    return (
        s.replace(" the ", " the &quot;big&quot; ")
        + " &amp; keep the rest &#x2019;s &#8220;look&#8221; &eacute;t&eacute; &AMP; &nbsp;"
    )


def _ligatures(s):
    return s.replace("fi", "\ufb01").replace("fl", "\ufb02") + " with ef\ufb00ects, \ufb03x, a \ufb04y \ufb06yle"


def _emoji(s):
    return f"{s} \U0001f3a8\U0001f431 \u2764\ufe0f \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f1ef\U0001f1f5 \U0001f44d\U0001f3fd"


def _accents(s):
    return f"Caf\u00e9 cr\u00e8me: {s}, na\u00efve fa\u00e7ade, \u00dcBER Stra\u00dfe, se\u00f1or, \u0130stanbul, \u03a3\u039f\u03a6\u039f\u03a3 \u039f\u0394\u039f\u03a3"


def _decomposed(s):
    return f"{s} cafe\u0301 n\u0303 A\u030a \u1e9b\u0323"


def _cjk(s):
    return f"{s}，把天空变成日落。東京タワーを赤くして 한국어 텍스트"


def _spacing(s):
    return f"  {s}\t\tplease\r\n\r\nnow\u2028and\u00a0then\u2003ok\x85  "


def _controls(s):
    return f"\ufeff{s}\x00\x07 \x1b[31mred\x1b[0m \x96 dash \x93q\x94 \u206a\ufffc end"


def _mixed_html(s):
    return f"{s} <b>bold</b> &amp; more\nsecond line &amp; again"


def _nested(s):
    return f"{s} &amp;amp; &amp;lt;3 &#38;#8217; &#0; &#x110000; &#128; &#1; &notanentity; &#12abc;"


FAMILIES = [
    _curly,
    _fullwidth,
    _entities,
    _ligatures,
    _emoji,
    _accents,
    _decomposed,
    _cjk,
    _spacing,
    _controls,
    _mixed_html,
    _nested,
]

EXTRA = [
    "",
    " ",
    "\u3000",
    "it\u2019s",
    "\u201cred\u201d",
    "\uff2d\uff41\uff4b\uff45 \uff49\uff54 \uff52\uff45\uff44",
    "salt &amp; pepper",
    "\ufb01sh",
    "LOUD NOISES",
    "\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33",
    "Broken text&hellip; it&#x2019;s \ufb02ubberi\ufb01c!",
    "\u00af\\_(\u30c4)_/\u00af",
    "P&EACUTE;REZ",
    "BUNDESSTRA&SZLIG;E",
    "&ntilde; &Ntilde; &NTILDE; &nTILDE;",
    "&lt;tag&gt;",
    "&Jscr;ohn &HilbertSpace;ancock",
    "&checkmark; done",
    "half-width \uff76\uff80\uff76\uff85 and \uffe5100",
    "\u02bcokina",
    "\u201fodd\u201b quotes\u201e",
    "Ǆemal Ǉubljana ĳssel",
    "tabs\tand\nnewlines\r\nmixed",
    "a" * 300,
    " ".join(["very long instruction"] * 40),
    "numbers \uff11\uff12\uff13 and \u2460\u2461",
    "emoji only \U0001f600\U0001f601\U0001f602",
    "\u0645\u0631\u062d\u0628\u0627 arabic text",
    "\u05e9\u05dc\u05d5\u05dd hebrew",
    "\u0928\u092e\u0938\u094d\u0924\u0947 hindi",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 thai",
    "\u041f\u0420\u0418\u0412\u0415\u0422 \u041c\u0418\u0420",
    "zero\u200bwidth\u200cjoin\u200dhere",
    "<|endoftext|> in the text",
    "it's 2 o'clock, isn't it?",
    "line1\nline2 &amp;\n<p>html</p> &amp;\nline4 &amp;",
]


def corpus() -> list[str]:
    return [f(b) for f in FAMILIES for b in BASE[: len(BASE) - (FAMILIES.index(f) % 4)]] + EXTRA


def _tokenizer(package: Path = PACKAGE) -> Tokenizer:
    return Tokenizer.from_file(str(package / "tokenizer_clip" / "tokenizer.json"))


def compute(package: Path = PACKAGE) -> dict:
    tok = _tokenizer(package)
    sha = hashlib.sha256((package / "tokenizer_clip" / "tokenizer.json").read_bytes()).hexdigest()
    pad_id = tok.padding["pad_id"]
    cases = []
    for text in corpus():
        norm = normalize_clip_text(text)
        enc = tok.encode(norm)
        cases.append(
            {
                "text": text,
                "normalized": norm,
                "ids": enc.ids[: sum(enc.attention_mask)],
                "changed": enc.ids != tok.encode(text).ids,
            }
        )
    return {
        "tokenizer": "public/models/tiny-random/tokenizer_clip/tokenizer.json",
        "tokenizer_sha256": sha,
        "length": tok.padding["length"],
        "pad_id": pad_id,
        "cases": cases,
    }


def write(out: Path = OUT) -> None:
    import ftfy
    import tokenizers

    out.mkdir(parents=True, exist_ok=True)
    result = compute()
    index = {
        "generated_by": {
            "command": "cd tools/export && .venv/bin/python -m editmgt_export.clip_text_goldens",
            "ftfy": ftfy.__version__,
            "tokenizers": tokenizers.__version__,
            "rule": "ids = tokenizer.json(normalize_clip_text(text)); normalize_clip_text = "
            "the slow CLIP tokenizer's whitespace_clean(ftfy.fix_text(text)).lower()",
            "changed": "true where the ids differ from tokenizer.json on the raw text",
            "ids": "up to the end token; the rest, to `length`, is `pad_id`",
        },
        **result,
    }
    head = json.dumps({k: v for k, v in index.items() if k != "cases"}, ensure_ascii=False, indent=1)[:-2]
    rows = ",\n".join(json.dumps(c, ensure_ascii=False) for c in index["cases"])
    (out / "index.json").write_text(f'{head},\n "cases": [\n{rows}\n]}}\n')


def check_slow_tokenizer(package: Path = PACKAGE) -> tuple[int, int]:
    """(equal, total): the corpus through transformers' slow CLIPTokenizer (with ftfy) built from
    the package's vocabulary and merges, against the goldens' rule."""
    import tempfile

    from transformers import CLIPTokenizer  # the slow one exists only before transformers 5

    data = json.loads((package / "tokenizer_clip" / "tokenizer.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps(data["model"]["vocab"]))
        merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
        slow = CLIPTokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "merges.txt"))
    assert slow.fix_text is not None, "ftfy is not installed: the slow tokenizer would not use it"
    tok = _tokenizer(package)
    texts = corpus()
    equal = 0
    for text in texts:
        want = slow(text, padding="max_length", max_length=77, truncation=True).input_ids
        got = tok.encode(normalize_clip_text(text)).ids
        equal += want == got
        if want != got:
            print("differs:", repr(text))
    print(f"{equal}/{len(texts)} equal")
    return equal, len(texts)


if __name__ == "__main__":
    write()
    print(f"wrote {OUT}")
