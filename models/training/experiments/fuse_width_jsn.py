#!/usr/bin/env python3
"""Experiment (not shipped): does the measured joint space width add to the grader's JSN score?

A logistic fusion of the JSN head's first cumulative logit (P(JSN >= 1)) and log(width / the
median width of the same row of joints on the training films' normal crops) is fitted on the
training films' real crops with narrowing written onto them (real_disease.write_disease), then
compared with the JSN logit alone on the held-out crops, at the same share of normal joints
called (thresholds chosen on the calibration films). docs/evaluation.md "Joint space width".

  /usr/bin/python3 models/training/experiments/fuse_width_jsn.py --ckpt models/training/runs/grader-v11/model.pt \\
      --train /tmp/jsd/real-train --cal /tmp/jsd/real-cal --test /tmp/jsd/real-test
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from data import read_crop_split  # noqa: E402
from grader import Grader, load_grader  # noqa: E402
from real_disease import HINGE_SITES, joint_groups, write_disease  # noqa: E402


@torch.no_grad()
def logit_and_width(model: Grader, crops: np.ndarray, meta: np.ndarray):
    logits, widths = [], []
    for i in range(0, len(crops), 256):
        c = torch.from_numpy(crops[i:i + 256]).unsqueeze(1).float()
        m = torch.from_numpy(meta[i:i + 256])
        h = model.features(c, m)
        logits.append(model.cum_logits(h, m)["jsn"][:, 0].numpy())
        widths.append(model.width(h)[:, 0].numpy())
    return np.concatenate(logits), np.concatenate(widths)


def normal_and_narrowed(model: Grader, folder: str, seed: int) -> dict:
    """JSN logit, width and joint row of the normal finger-joint crops, and of those narrowed to JSN 2-4."""
    s = read_crop_split(folder)
    crops = np.asarray(s.crops, np.float32) / 65535.0
    sites = s.meta[:, :-2].argmax(1)
    keep = (s.grades[:, 0] >= 0) & np.isin(sites, list(HINGE_SITES))
    drawn, truth = write_disease(crops, sites, s.grades, np.random.default_rng(seed), p=1.0)
    l0, w0 = logit_and_width(model, crops[keep], s.meta[keep])
    l1, w1 = logit_and_width(model, drawn[keep], s.meta[keep])
    rows = joint_groups(sites[keep])
    narrowed = truth[keep, 0] >= 2
    return {"l0": l0, "w0": w0, "r0": rows, "l1": l1[narrowed], "w1": w1[narrowed], "r1": rows[narrowed]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, help="a grader checkpoint with the width head")
    ap.add_argument("--train", required=True)
    ap.add_argument("--cal", required=True)
    ap.add_argument("--test", required=True)
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, _ = load_grader(args.ckpt)
    tr = normal_and_narrowed(model, args.train, 7)
    normal_width = {g: np.median(tr["w0"][tr["r0"] == g]) for g in set(tr["r0"])}

    def features(d: dict, k: str) -> np.ndarray:
        return np.stack([d["l" + k], np.log(np.maximum(d["w" + k], 0.02) / np.array([normal_width[g] for g in d["r" + k]]))], 1)

    x = torch.tensor(np.concatenate([features(tr, "0"), features(tr, "1")]), dtype=torch.float32)
    y = torch.tensor(np.r_[np.zeros(len(tr["l0"])), np.ones(len(tr["l1"]))], dtype=torch.float32)
    wb = torch.zeros(3, requires_grad=True)
    opt = torch.optim.LBFGS([wb], max_iter=200)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ wb[:2] + wb[2], y)
        loss.backward()
        return loss

    opt.step(closure)
    a, b, _ = wb.detach().numpy()
    print(f"fit on {len(tr['l0'])} normal and {len(tr['l1'])} narrowed training crops: logit weight {a:.3f}, log width ratio weight {b:.3f}")
    cal = normal_and_narrowed(model, args.cal, 20261202)
    test = normal_and_narrowed(model, args.test, 20261202)
    scores = {"JSN logit alone": lambda d, k: d["l" + k], "JSN logit + width": lambda d, k: features(d, k) @ np.array([1.0, b / a])}
    for name, score in scores.items():
        for share in (0.05, 0.08):
            t = np.quantile(score(cal, "0"), 1 - share)
            print(f"{name:18s} normals called on the calibration films {share:.2f}: test normals called {np.mean(score(test, '0') > t):.3f}, "
                  f"test written JSN 2-4 called {np.mean(score(test, '1') > t):.3f} ({len(test['l1'])})")


if __name__ == "__main__":
    main()
