#!/usr/bin/env python3
"""Where the detector puts a joint between its heatmap cells, and how far that moves when the
input moves: the node's refinement (detector.decode: the peak cell, 3 x 3 weighted centroid)
against a 5 x 5 centroid, a 3 x 3 centroid of the square-rooted map and a parabola fitted to the
log heatmap, and against reading twice (the input and a copy moved by t input pixels, positions
averaged where the two lie within g pixels). Per refinement: the errors on a phantom validation
set (detector_metrics), and for the first 64 images the error of the decoded move when the input
moves by s pixels right and down (a perfect detector moves its joints by s). docs/evaluation.md,
"Real film: repeatability"; the reading twice in the node: experiments/steady-reading.patch.

  /usr/bin/python3 models/training/experiments/detector_peak.py --ckpt models/training/runs/detector-v2/last.pt --val /tmp/jsd/val
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from data import STRIDE  # noqa: E402
from detector import decode, load_detector  # noqa: E402
from metrics import detector_metrics  # noqa: E402
from train_detector import ImagePool  # noqa: E402


def peak_cells(heat):
    b, k, h, w = heat.shape
    peak, idx = heat.view(b, k, -1).max(-1)
    return peak, idx // w, idx % w


def to_input_px(r, c, dr, dc):
    return torch.stack([(c.float() + dc + 0.5) * STRIDE, (r.float() + dr + 0.5) * STRIDE], -1)


def centroid(heat, half=1, gamma=1.0):
    """The (2 half + 1)^2 weighted centroid about the peak cell, of the map raised to gamma."""
    b, k, _, _ = heat.shape
    peak, r, c = peak_cells(heat)
    n = 2 * half + 1
    pad = F.pad(heat.clamp(min=0) ** gamma, (half, half, half, half))
    ri = r.view(b, k, 1, 1) + torch.arange(n).view(1, 1, n, 1)
    ci = c.view(b, k, 1, 1) + torch.arange(n).view(1, 1, 1, n)
    win = pad[torch.arange(b).view(b, 1, 1, 1), torch.arange(k).view(1, k, 1, 1), ri, ci]
    off = torch.arange(n).float() - half
    tot = win.sum((-1, -2)).clamp(min=1e-12)
    return to_input_px(r, c, (win.sum(-1) * off).sum(-1) / tot, (win.sum(-2) * off).sum(-1) / tot), peak


def log_parabola(heat):
    """Per axis, the vertex of the parabola through the log heatmap at the peak cell and its two neighbours."""
    b, k, h, w = heat.shape
    peak, r, c = peak_cells(heat)
    pad = F.pad(heat.clamp(min=1e-6), (1, 1, 1, 1), value=1e-6)
    bi, ki = torch.arange(b).view(b, 1), torch.arange(k).view(1, k)

    def at(dr, dc):
        return pad[bi, ki, r + 1 + dr, c + 1 + dc].log()

    l0 = at(0, 0)

    def off(lm, lp, edge):
        den = lm - 2 * l0 + lp
        o = torch.where(den < 0, 0.5 * (lm - lp) / den, torch.zeros_like(den)).clamp(-0.5, 0.5)
        return torch.where(edge, torch.zeros_like(o), o)

    return to_input_px(r, c, off(at(-1, 0), at(1, 0), (r == 0) | (r == h - 1)), off(at(0, -1), at(0, 1), (c == 0) | (c == w - 1))), peak


def moved(x, s):
    return F.pad(x, (s, 0, s, 0))[..., : x.shape[-2], : x.shape[-1]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--val", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    m = load_detector(a.ckpt)
    pool = ImagePool([a.val])
    batches = [pool.images(np.arange(i, min(pool.n, i + 32))) for i in range(0, pool.n, 32)]
    first = pool.images(np.arange(0, min(pool.n, 64)))

    def twice(x, t, g, dec=decode):
        with torch.no_grad():
            p, pk = dec(m(x))
            q, _ = dec(m(moved(x, t)))
        q = q - t
        near = (p - q).norm(dim=-1, keepdim=True) <= g
        return torch.where(near, (p + q) / 2, p), pk

    readers = {
        "3 x 3 centroid (the node's)": lambda x: decode(m(x)),
        "5 x 5 centroid": lambda x: centroid(m(x), 2),
        "3 x 3 centroid of the square root": lambda x: centroid(m(x), 1, 0.5),
        "parabola on the log heatmap": lambda x: log_parabola(m(x)),
        "read twice, moved 2 px, within 4 px averaged": lambda x: twice(x, 2, 4),
    }
    with torch.no_grad():
        for name, read in readers.items():
            outs = [read(x) for x in batches]
            xy, pk = torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])
            r = detector_metrics(xy.numpy(), pk.numpy(), pool.joints, pool.scale, pool.spacing, 0.3)
            p0, k0 = read(first)
            line = []
            for s in (1, 2):
                p1, k1 = read(moved(first, s))
                ok = (k0 > 0.3) & (k1 > 0.3)
                d = (p1 - p0 - s).abs()[ok]
                line.append(f"moved {s} px: error {float(d.mean()):.3f} (p95 {float(d.quantile(0.95)):.3f})")
            print(f"{name}: mean {r['mean_err_mm']:.3f} mm, median {r['median_err_mm']:.3f} mm, pck 2 mm {r['pck_2mm']:.4f}; " + "; ".join(line))


if __name__ == "__main__":
    main()
