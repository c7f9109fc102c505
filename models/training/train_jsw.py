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

With --real (crops of real training films, real_crops.mjs), real texture teaches the head how
much a width falls: a normal real joint's space (the dark band real_disease.find_gap finds)
narrowed in the pixels by k rows is k x 0.16 mm narrower, exactly, whatever its true width.
Phantom-only, the head under-measures that fall by about half. The real term alone lifts
the normal widths and loses their anatomical order, so a third term anchors the widths of
the unaltered real crops to what the phantom-only head (fitted first) reads there.

  /usr/bin/python3 models/training/train_jsw.py --ckpt models/training/runs/grader-v10/last.pt \\
      --train /tmp/jsw/train-a /tmp/jsw/train-b /tmp/jsw/train-wide --val /tmp/jsw/val \\
      --real /tmp/jsd/real-train --out models/training/runs/grader-v12/model.pt
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
from grader import Grader, load_grader  # noqa: E402
from real_disease import HINGE_SITES, MM_PER_PX, find_gap, joint_groups, narrow_to  # noqa: E402

NARROWED_TO = (0.78, 0.55, 0.28)  # JSN 1-3 as the phantom draws them; two of them per real joint


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


def real_pairs(model: Grader, folders: list[str], seed: int):
    """Fused features of normal real finger-joint crops with a joint space found, and of the same
    crops narrowed twice each (NARROWED_TO), with the millimetres cut: (before, after, which
    before each after is, mm cut)."""
    rng = np.random.default_rng(seed)
    before, after, of, cut = [], [], [], []
    for folder in folders:
        s = read_crop_split(folder)
        keep = [i for i in range(len(s.site)) if int(s.site[i]) in HINGE_SITES and s.grades[i, 0] <= 0 and s.grades[i, 2] <= 1]
        crops = np.asarray(s.crops[keep], np.float32) / 65535.0
        meta = s.meta[keep]
        gaps = [find_gap(c) for c in crops]
        with_gap = [i for i, g in enumerate(gaps) if g]
        narrowed, rows, cuts = [], [], []
        for i in with_gap:
            for f in rng.choice(NARROWED_TO, 2, replace=False):
                k = int(round(gaps[i][1] * (1 - f)))
                if k > 0:
                    narrowed.append(narrow_to(crops[i], gaps[i], float(f)))
                    rows.append(i)
                    cuts.append(k * MM_PER_PX)
        u16 = lambda a: (np.clip(a, 0, 1) * 65535).astype(np.uint16)  # noqa: E731
        offset = sum(len(b) for b in before)
        before.append(fused_features(model, u16(crops), meta))
        after.append(fused_features(model, u16(np.stack(narrowed)), meta[rows]))
        of.append(np.array(rows) + offset)
        cut.append(np.array(cuts, np.float32))
        print(f"{folder}: {len(keep)} normal finger-joint crops, {len(with_gap)} with a joint space found, {len(rows)} narrowed", flush=True)
    return np.concatenate(before), np.concatenate(after), np.concatenate(of), np.concatenate(cut)


def fit(h: np.ndarray, y: np.ndarray, epochs: int, seed: int, real=None, real_weight: float = 1.0,
        anchor: np.ndarray | None = None, anchor_weight: float = 1.0) -> nn.Sequential:
    """The head on standardised features, then the standardisation folded into its first layer.
    With `real` (real_pairs), each batch of phantom crops comes with 64 real narrowings (the fall
    in width should be the mm cut) and 64 unaltered real crops held to `anchor`."""
    torch.manual_seed(seed)
    mu, sd = h.mean(0), h.std(0) + 1e-3
    std = lambda a: torch.tensor((a - mu) / sd, dtype=torch.float32)  # noqa: E731
    x = std(h)
    t = torch.tensor(y)
    head = nn.Sequential(nn.Linear(h.shape[1], 64), nn.ReLU(inplace=True), nn.Linear(64, 1))
    width = lambda v: F.softplus(head(v).squeeze(1))  # noqa: E731
    if real is not None:
        r0, r1, of, cut = std(real[0]), std(real[1]), torch.from_numpy(real[2]), torch.from_numpy(real[3])
        held = torch.from_numpy(anchor)
    opt = torch.optim.Adam(head.parameters(), 1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        pairs = torch.randperm(len(r1)) if real is not None else None
        normals = torch.randperm(len(r0)) if real is not None else None
        for i, b in enumerate(torch.randperm(len(x)).split(256)):
            loss = F.smooth_l1_loss(width(x[b]), t[b], beta=0.1)
            if real is not None:
                q = pairs[(i * 64) % len(pairs):][:64]
                loss = loss + real_weight * F.smooth_l1_loss(width(r0[of[q]]) - width(r1[q]), cut[q], beta=0.1)
                n = normals[(i * 64) % len(normals):][:64]
                loss = loss + anchor_weight * F.smooth_l1_loss(width(r0[n]), held[n], beta=0.1)
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
    groups = joint_groups(site)
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
    ap.add_argument("--real", nargs="+", default=None, help="crop folders of real training films (real_crops.mjs): the fall in width with narrowing written into them")
    ap.add_argument("--real-weight", type=float, default=1.0)
    ap.add_argument("--anchor-weight", type=float, default=1.0)
    ap.add_argument("--real-seed", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, state = load_grader(args.ckpt)
    h, y, _ = measured_crops(model, args.train)
    model.jsw = fit(h, y, args.epochs, args.seed)
    model.has_width = True
    if args.real:
        real = real_pairs(model, args.real, args.real_seed)
        with torch.no_grad():
            anchor = model.width(torch.from_numpy(real[0])).squeeze(1).numpy()
        model.jsw = fit(h, y, args.epochs, args.seed, real, args.real_weight, anchor, args.anchor_weight)
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
                              "epochs": args.epochs, "seed": args.seed, "validation": val,
                              **({"real": args.real, "realWeight": args.real_weight, "anchorWeight": args.anchor_weight,
                                  "realSeed": args.real_seed} if args.real else {})}}, args.out)


if __name__ == "__main__":
    main()
