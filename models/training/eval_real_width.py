#!/usr/bin/env python3
"""How the grader's joint space width reads real finger joints held out from training.

No real film here comes with measured widths, so two checks stand in:
- normal joints (the crops as they are): the widths by joint group, which should be in the
  anatomical order (MCP > PIP > DIP) and in the range of normal adult joints;
- written narrowing (real_disease.narrow_to: the rows of the joint space's dark band cut out,
  the distal bone moved down; the band is found by real_disease.find_gap): per fraction kept,
  how often the width falls, the width after over before, and the fall against the rows
  cut (in mm at the crop's 0.16 mm a pixel). A width that tracks narrowing written on real
  texture gives a ratio near the fraction and a fall near the cut.

  /usr/bin/python3 models/training/eval_real_width.py --ckpt models/training/runs/grader-v11/model.pt \\
      --crops /tmp/jsd/real-test
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import read_crop_split  # noqa: E402
from grader import Grader, load_grader  # noqa: E402
from real_disease import HINGE_SITES, MM_PER_PX, find_gap, joint_groups, narrow_to  # noqa: E402

FRACTIONS = (0.78, 0.55, 0.28, 0.0)  # JSN 1-4 as the phantom draws them


@torch.no_grad()
def widths(model: Grader, crops: np.ndarray, meta: np.ndarray) -> np.ndarray:
    out = []
    for i in range(0, len(crops), 256):
        c = torch.from_numpy(crops[i:i + 256]).unsqueeze(1).float()
        out.append(model(c, torch.from_numpy(meta[i:i + 256]), width=True)[4].squeeze(1).numpy())
    return np.concatenate(out)


def spread(v: np.ndarray) -> dict:
    return {"n": int(len(v)), "median": round(float(np.median(v)), 3),
            "iqr": [round(float(np.percentile(v, 25)), 3), round(float(np.percentile(v, 75)), 3)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--crops", required=True, help="real crops (real_crops.mjs), held out from training")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, _ = load_grader(args.ckpt)
    if not model.has_width:
        sys.exit(f"{args.ckpt} has no width head (train_jsw.py makes one)")
    s = read_crop_split(args.crops)
    # normal joints only: the crops as cut from films whose joints are normal
    idx = np.array([i for i in range(len(s.site)) if int(s.site[i]) in HINGE_SITES and s.grades[i, 0] <= 0 and s.grades[i, 2] <= 1])
    crops = np.asarray(s.crops[idx], np.float32) / 65535.0
    meta = s.meta[idx]
    before = widths(model, crops, meta)
    group = joint_groups(s.site[idx])
    report = {"crops": args.crops, "normal": {g: spread(before[group == g]) for g in ("MCP", "PIP", "DIP", "IP1") if (group == g).any()}}
    gaps = [find_gap(c) for c in crops]
    has = np.array([g is not None for g in gaps])
    report["withJointSpaceFound"] = int(has.sum())
    report["narrowed"] = {}
    for f in FRACTIONS:
        cut = np.array([int(round(g[1] * (1 - f))) if f > 0 else g[1] + 1 for g in gaps if g]) * MM_PER_PX
        after = widths(model, np.stack([narrow_to(c, g, f) for c, g in zip(crops[has], [g for g in gaps if g])]), meta[has])
        was = before[has]
        report["narrowed"][f"{f:.2f}"] = {
            "fell": round(float(np.mean(after < was)), 3),
            "ratio": spread(after / np.maximum(was, 0.05)),
            "fallOverCut": spread((was - after) / np.maximum(cut, MM_PER_PX)),
            "widthMm": spread(after),
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
