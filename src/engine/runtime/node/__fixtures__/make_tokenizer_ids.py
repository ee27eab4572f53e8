"""Token ids from the Python `tokenizers` library for the tiny model's two tokenizers, the way
the exporter's reference pipeline encodes (Tokenizer.from_file + the padding/truncation stored
in tokenizer.json). The TypeScript adapter must reproduce them exactly.

Run: tools/export/.venv/bin/python src/engine/runtime/node/__fixtures__/make_tokenizer_ids.py  → tokenizer_ids.json
"""
import hashlib
import json
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[5]
PKG = ROOT / "public" / "models" / "tiny-random"
PROMPTS = [
    "make it into ghibli style", "turn the sky into a sunset", "remove the person on the left",
    "add a red hat to the cat", "Change the BACKGROUND to a beach!", "make the car blue, please.",
    "worst quality, low quality, low res, blurry, distortion, watermark, logo, signature, text, "
    "jpeg artifacts, signature, sketch, duplicate, ugly, identifying mark",
    "", " ", "  two   spaces\tand\ttabs\nnewline", "café naïve über", "emoji 🎨 and 中文 text", "it's 2 o'clock, isn't it?",
    "numbers 1234567890 and symbols #$%&*()[]{}", "<|startoftext|> literal specials <bos> <pad>",
    " ".join(f"word{i}" for i in range(300)),
]
out = {"generator": "src/engine/runtime/node/__fixtures__/make_tokenizer_ids.py", "tokenizers_version": tokenizers.__version__,
       "sha256": {n: hashlib.sha256((PKG / n / "tokenizer.json").read_bytes()).hexdigest() for n in ("tokenizer_clip", "tokenizer_llm")},
       "cases": []}
for name in ("tokenizer_clip", "tokenizer_llm"):
    tok = Tokenizer.from_file(str(PKG / name / "tokenizer.json"))
    for p in PROMPTS:
        enc = tok.encode(p)
        out["cases"].append({"tokenizer": name, "text": p, "ids": enc.ids, "attention_mask": enc.attention_mask,
                             "truncated": len(enc.overflowing) > 0})
Path(__file__).with_name("tokenizer_ids.json").write_text(json.dumps(out) + "\n")
print("wrote", len(out["cases"]), "cases")
