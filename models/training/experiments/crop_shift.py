#!/usr/bin/env python3
"""How the grader's calls on normal real joints move when its crop moves off the point the
detector gave: each crop of a real crop set (real_crops.mjs, cut as serving cuts them) moved by
d crop pixels (0.16 mm each) up, down, left and right (the edge repeated), and the share of
joints called mild or severe (JSN >= 1, erosion >= 1 or KL >= 2) averaged over the four moves.
docs/evaluation.md, "Real film: repeatability".

  R=models/training/runs; M="$R/grader-v12/model.pt $R/grader-v13/last.pt $R/grader-v14/last.pt"
  W="--wrist-jsn-ckpt $R/grader-v22/last.pt --wrist-erosion-ckpt $R/grader-v21/last.pt"
  /usr/bin/python3 models/training/experiments/crop_shift.py --ckpt $M $W --prior-weights /tmp/prior-0.10.1.json \\
      --crops /tmp/gate-test /tmp/gate-cal /tmp/jsd/real-train
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from data import read_crop_split  # noqa: E402
from eval_real_disease import called, grades_of, probabilities_of  # noqa: E402
from grader import add_member_args, grader_from_args  # noqa: E402

MOVES = (0, 1, 2, 3, 5)


def moved(crops: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The crops moved by (dy, dx) pixels, the rows and columns uncovered filled with the edge's."""
    out = np.roll(crops, (dy, dx), axis=(1, 2))
    if dy > 0:
        out[:, :dy] = crops[:, :1]
    if dy < 0:
        out[:, dy:] = crops[:, -1:]
    if dx > 0:
        out[:, :, :dx] = crops[:, :, :1]
    if dx < 0:
        out[:, :, dx:] = crops[:, :, -1:]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", nargs="+", required=True)
    add_member_args(ap)
    ap.add_argument("--prior-weights", default=None)
    ap.add_argument("--crops", nargs="+", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, _ = grader_from_args(a)
    for folder in a.crops:
        s = read_crop_split(folder)
        crops = np.asarray(s.crops, np.float32) / 65535.0
        row = []
        for d in MOVES:
            rates = [called(grades_of(probabilities_of(model, moved(crops, dy, dx), s.meta)), s.grades).mean()
                     for dy, dx in ([(0, 0)] if d == 0 else [(d, 0), (-d, 0), (0, d), (0, -d)])]
            row.append(f"{d} px ({0.16 * d:.2f} mm): {100 * float(np.mean(rates)):.1f} %")
        print(f"{folder} ({len(crops)} crops): " + " | ".join(row))


if __name__ == "__main__":
    main()
