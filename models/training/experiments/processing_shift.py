#!/usr/bin/env python3
"""How a grader's calls on held-out real crops move when the same films are processed as another
site might process them: JPEG at quality 50, a 1 px blur, unsharp masking (radius 2 px, 150 %),
half the resolution, gamma 0.7 and 1.4, 2 % noise, 8 bits. For each: the normal joints called
mild or severe, and the narrowing (JSN 2-4) and erosions written onto the finger and thumb joints
(eval_real_disease.written, 4 draws, the change applied after writing) that are called.

  /usr/bin/python3 models/training/experiments/processing_shift.py --ckpt M1 M2 M3 \
      --wrist-jsn-ckpt W --wrist-erosion-ckpt E --prior-weights P.json --crops /tmp/s23/gate-test /tmp/s23/gate-cal
"""
import argparse
import io
import json
import os
import sys

import numpy as np
import torch
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from data import N_SITES, read_crop_split  # noqa: E402
from eval_real_disease import called, grades_of, probabilities_of, written  # noqa: E402
from grader import WRIST_JSN_SITES, add_member_args, load_grader, member_ckpts  # noqa: E402


def through_pil(change):
    def apply(crops: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(change(Image.fromarray((np.clip(x, 0, 1) * 255).astype(np.uint8))), np.float32) / 255.0
                         for x in crops])
    return apply


def jpeg(quality: int):
    def change(im):
        b = io.BytesIO()
        im.save(b, "JPEG", quality=quality)
        return Image.open(io.BytesIO(b.getvalue()))
    return through_pil(change)


def changes(rng: np.random.Generator) -> dict:
    return {
        "as stored": lambda c: c,
        "jpeg q50": jpeg(50),
        "blur 1px": through_pil(lambda im: im.filter(ImageFilter.GaussianBlur(1.0))),
        "unsharp r2 150%": through_pil(lambda im: im.filter(ImageFilter.UnsharpMask(2, 150, 0))),
        "half res": through_pil(lambda im: im.resize((56, 56), Image.BILINEAR).resize((112, 112), Image.BILINEAR)),
        "gamma 0.7": lambda c: np.clip(c, 0, 1) ** 0.7,
        "gamma 1.4": lambda c: np.clip(c, 0, 1) ** 1.4,
        "noise 2%": lambda c: np.clip(c + rng.normal(0, 0.02, c.shape).astype(np.float32), 0, 1),
        "8-bit": lambda c: np.round(c * 255) / 255,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", nargs="+", required=True)
    add_member_args(ap)
    ap.add_argument("--prior-weights", default=None)
    ap.add_argument("--crops", nargs="+", required=True)
    ap.add_argument("--draws", type=int, default=4)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, _ = load_grader(a.ckpt, **member_ckpts(a))
    if a.prior_weights:
        model.set_prior(json.load(open(a.prior_weights)))
    for folder in a.crops:
        s = read_crop_split(folder)
        crops = np.asarray(s.crops, np.float32) / 65535.0
        labels, sites = s.grades, s.meta[:, :N_SITES].argmax(1)
        fingers = ~np.isin(sites, WRIST_JSN_SITES)
        draws = [written(crops, sites, labels, 20261202 + k, per_crop=False) for k in range(a.draws)]
        for name, change in changes(np.random.default_rng(5)).items():
            normal = called(grades_of(probabilities_of(model, change(crops).astype(np.float32), s.meta)), labels).mean()
            hits = np.zeros(4)
            for drawn, truth in draws:
                g = grades_of(probabilities_of(model, change(drawn).astype(np.float32), s.meta))
                narrowed, eroded = (truth[:, 0] >= 2) & fingers, (truth[:, 1] >= 1) & fingers
                hits += [(g["jsn"][narrowed] >= 1).sum(), narrowed.sum(), (g["erosion"][eroded] >= 1).sum(), eroded.sum()]
            print(f"{os.path.basename(folder.rstrip('/')):10s} {name:16s} normal joints called {normal * 100:5.1f} %   "
                  f"written JSN 2-4 called {hits[0] / hits[1] * 100:5.1f} %   written erosions (fingers, thumb) {hits[2] / hits[3] * 100:5.1f} %",
                  flush=True)


if __name__ == "__main__":
    main()
