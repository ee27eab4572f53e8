"""Reference values for the engine's kernel tests, computed with the libraries the EditMGT
reference uses (scipy.ndimage, numpy, torch, Pillow), on deterministic LCG inputs.

Run with the exporter's venv:  tools/export/.venv/bin/python src/engine/__fixtures__/make_kernel_fixtures.py
Writes kernels.json beside this file. The LCG below is mirrored in kernels.test.ts.
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import PIL
import scipy
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage
from scipy.ndimage import gaussian_filter


def lcg(n, seed):
    out, s = [], seed
    for _ in range(n):
        s = (s * 1103515245 + 12345) % (2 ** 31)
        out.append(s / 2 ** 31)
    return np.array(out, dtype=np.float32)


def rescale(x):  # the reference's rescale_scores
    t = torch.from_numpy(x)[None]
    lo, hi = t.min(dim=-1, keepdim=True)[0], t.max(dim=-1, keepdim=True)[0]
    return ((t - lo) / (hi - lo + 1e-8))[0].numpy()


def smooth_adaptive(s, r, c):  # the reference's smooth_local_scores(method='adaptive', strength=1)
    x = s.reshape(r, c).copy()
    orig = x.copy()
    g = gaussian_filter(x, sigma=1.5, mode="reflect")
    lv = ndimage.generic_filter(x, np.var, size=5)
    lv = (lv - lv.min()) / (lv.max() - lv.min() + 1e-8)
    w = 1.0 - lv * 0.7
    sm = w * g + (1 - w) * x
    thr = np.percentile(orig, 90)
    pm = orig > thr
    sm[pm] = 0.7 * orig[pm] + (1 - 0.7) * sm[pm]
    if sm.max() > sm.min():
        sm = (sm - sm.min()) / (sm.max() - sm.min())
        sm = sm * (orig.max() - orig.min()) + orig.min()
    return sm.reshape(-1), g.reshape(-1)


out = {"generator": "src/engine/__fixtures__/make_kernel_fixtures.py",
       "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                    "torch": torch.__version__, "pillow": PIL.__version__},
       "smoothing": {}, "bicubic": {}}
for r, c in [(8, 8), (3, 5), (32, 32)]:
    x = lcg(r * c, r * 100 + c)
    x = x * x * 3 + 0.25
    res = rescale(x)
    sm, g = smooth_adaptive(res, r, c)
    out["smoothing"][f"{r}x{c}"] = {"seed": r * 100 + c, "rescaled": res.tolist(), "gauss": g.tolist(), "smoothed": sm.tolist()}
for ih, iw, oh, ow in [(8, 8, 16, 16), (3, 5, 7, 4)]:
    x = lcg(ih * iw, ih * 7 + iw)
    up = F.interpolate(torch.from_numpy(x).reshape(1, 1, ih, iw), size=(oh, ow), mode="bicubic", align_corners=False)
    out["bicubic"][f"{ih}x{iw}->{oh}x{ow}"] = {"seed": ih * 7 + iw, "output": up.reshape(-1).tolist()}
out["linspace_2_0"] = {str(n): torch.linspace(2, 0, n).tolist() for n in [1, 2, 3, 7, 16, 36, 50]}
masklen = {}
for n in [4, 12, 16, 36]:
    ts = torch.arange(n).flip(0)
    for seq in [256, 4096]:
        for name, smr in [("1", 1.0), ("37/256", torch.tensor(37) / 256)]:
            vals = []
            for i in range(n - 1):
                step_idx = (ts == ts[i]).nonzero()
                ratio = (step_idx + 1) / len(ts)
                vals.append(int((seq * (torch.cos(ratio * math.pi / 2) * smr)).floor().item()))
            masklen[f"{n}|{seq}|{name}"] = vals
out["mask_len_cosine"] = masklen
img = (lcg(37 * 23 * 3, 3) * 255).astype(np.uint8).reshape(23, 37, 3)
out["pil_bilinear"] = {"seed": 3, "width": 37, "height": 23,
                       "out": {f"{w}x{h}": np.asarray(Image.fromarray(img, "RGB").resize((w, h), Image.BILINEAR)).reshape(-1).tolist()
                               for w, h in [(16, 16), (37, 10), (100, 51)]}}
Path(__file__).with_name("kernels.json").write_text(json.dumps(out) + "\n")
print("wrote kernels.json")
