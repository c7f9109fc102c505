#!/usr/bin/env python3
"""Teach a trained grader to measure the joint space width (mm) of the finger joints.

The width head (Grader.jsw) reads the grader's fused features; the rest of the network is
frozen, so every grade, probability and box stays bit for bit that of --ckpt. The targets
are the phantom's exact widths (the training sets' `jswMm`: the gap between the two bone
ends' rims along the joint axis, true mm), on the training-set crops, jittered as the
detector misses. Features are computed once (eval mode) and the head fitted on them.

Why the fused features and not the wider map before them: a head on the 944 values before
`fuse` fits the phantom better (validation MAE 0.039 against 0.060 mm) but reads real
joints worse (real normal MCP, PIP and DIP widths out of their anatomical order, and written
narrowing tracked less): the fused features are the ones real crops were trained into.

  /usr/bin/python3 models/training/train_jsw.py --ckpt models/training/runs/grader-v10/last.pt \\
      --train /tmp/jsw/train-a /tmp/jsw/train-b /tmp/jsw/train-wide --val /tmp/jsw/val \\
      --out models/training/runs/grader-v11/model.pt
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import read_crop_split  # noqa: E402
from grader import Grader  # noqa: E402
from real_disease import SITES  # noqa: E402


def widths_of(folder: str) -> np.ndarray:
    """Per crop of a training-set folder: its true joint space width in mm, -1 where none."""
    with open(os.path.join(folder, "crops.jsonl")) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    if "jswMm" not in recs[0]:
        sys.exit(f"{folder}: crops.jsonl has no jswMm (rendered before the phantom recorded widths): render it again")
    return np.array([r["jswMm"] for r in recs], np.float32)


@torch.no_grad()
def fused_features(model: Grader, crops: np.ndarray, meta: np.ndarray, batch: int = 256) -> np.ndarray:
    out = []
    for i in range(0, len(crops), batch):
        c = torch.from_numpy(np.asarray(crops[i:i + batch], np.float32) / 65535.0).unsqueeze(1)
        out.append(model.features(c, torch.from_numpy(meta[i:i + batch])).numpy())
    return np.concatenate(out)


def measured_crops(model: Grader, folders: list[str]):
    """Fused features, true widths and sites of the crops with a width, over the folders."""
    h, y, site = [], [], []
    for folder in folders:
        s = read_crop_split(folder)
        w = widths_of(folder)
        keep = np.nonzero(w >= 0)[0]
        h.append(fused_features(model, s.crops[keep], s.meta[keep]))
        y.append(w[keep])
        site.append(s.site[keep])
        print(f"{folder}: {len(keep)} crops with a width", flush=True)
    return np.concatenate(h), np.concatenate(y), np.concatenate(site)


def fit(h: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> nn.Sequential:
    """The head on standardised features, then the standardisation folded into its first layer."""
    torch.manual_seed(seed)
    mu, sd = h.mean(0), h.std(0) + 1e-3
    x = torch.tensor((h - mu) / sd, dtype=torch.float32)
    t = torch.tensor(y)
    head = nn.Sequential(nn.Linear(h.shape[1], 64), nn.ReLU(inplace=True), nn.Linear(64, 1))
    opt = torch.optim.Adam(head.parameters(), 1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        for b in torch.randperm(len(x)).split(256):
            loss = F.smooth_l1_loss(F.softplus(head(x[b]).squeeze(1)), t[b], beta=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        first = head[0]
        w = first.weight / torch.tensor(sd, dtype=torch.float32)
        first.bias -= w @ torch.tensor(mu, dtype=torch.float32)
        first.weight.copy_(w)
    return head


def report(pred: np.ndarray, y: np.ndarray, site: np.ndarray) -> dict:
    groups = np.array([SITES[int(s)][:3] if SITES[int(s)][:3] in ("MCP", "PIP", "DIP") else SITES[int(s)] for s in site])
    return {
        "crops": int(len(y)),
        "maeMm": round(float(np.abs(pred - y).mean()), 4),
        "correlation": round(float(np.corrcoef(pred, y)[0, 1]), 4),
        "maeMmBySite": {g: round(float(np.abs(pred - y)[groups == g].mean()), 4) for g in sorted(set(groups))},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, help="the trained grader (its grades stay as they are)")
    ap.add_argument("--train", nargs="+", required=True, help="training-set folders rendered with jswMm")
    ap.add_argument("--val", required=True)
    ap.add_argument("--out", required=True, help="the grader checkpoint with the width head (model state only)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    state = torch.load(args.ckpt, map_location="cpu")
    model = Grader(1.0)
    model.load_state_dict(state["model"])
    model.eval()
    h, y, _ = measured_crops(model, args.train)
    model.jsw = fit(h, y, args.epochs, args.seed)
    model.has_width = True
    hv, yv, sv = measured_crops(model, [args.val])
    with torch.no_grad():
        pv = model.width(torch.from_numpy(hv)).squeeze(1).numpy()
    val = report(pv, yv, sv)
    print(json.dumps(val), flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    # the grader's own training record stays (export.py writes it into the manifest); its
    # optimiser state does not: this checkpoint is for export, not for training on
    kept = {k: v for k, v in state.items() if k not in ("model", "opt")}
    torch.save({**kept, "model": model.state_dict(),
                "widthHead": {"script": "train_jsw.py", "from": args.ckpt, "train": args.train, "val": args.val,
                              "epochs": args.epochs, "seed": args.seed, "validation": val}}, args.out)


if __name__ == "__main__":
    main()
