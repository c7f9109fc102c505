#!/usr/bin/env python3
"""Train the view classifier: PA (0) against oblique (1) on hand crops written by
view_crops.mjs (src/inference/hand-crop.ts), a small CNN on CPU.

  python3 models/training/train_view.py --train /tmp/view/train-a /tmp/view/train-b \
      --test /tmp/view/real --out models/training/runs/view-v1 [--epochs 30] [--seed 1]

--test sets are only measured (AUC, and each crop's score in scores.csv), never trained on.
"""
import argparse
import csv
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load(folder):
    meta = json.load(open(os.path.join(folder, 'meta.json')))
    x = np.fromfile(os.path.join(folder, 'crops.f32'), dtype='<f4').reshape(-1, meta['rows'], meta['columns'])
    idx = list(csv.DictReader(open(os.path.join(folder, 'index.csv'))))
    y = np.array([float(r['label']) for r in idx], dtype=np.float32)
    return x, y, idx


class ViewNet(nn.Module):
    """Four strided convolutions, global average pooling, one logit: oblique (or lateral) vs PA."""

    def __init__(self, width=16):
        super().__init__()
        chans = [1, width, 2 * width, 4 * width, 4 * width]
        self.convs = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1, bias=False) for i in range(4))
        self.norms = nn.ModuleList(nn.BatchNorm2d(chans[i + 1]) for i in range(4))
        self.head = nn.Linear(chans[-1], 1)

    def forward(self, x):
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(x)))
        return self.head(x.mean(dim=(2, 3)))


def augment(x, rng):
    """Small misplacements of the frame (the fit is from detected joints), contrast, blur, noise."""
    n = x.shape[0]
    ang = torch.tensor(rng.uniform(-0.14, 0.14, n), dtype=torch.float32)
    scale = torch.tensor(rng.uniform(0.9, 1.1, n), dtype=torch.float32)
    tx = torch.tensor(rng.uniform(-0.08, 0.08, n), dtype=torch.float32)
    ty = torch.tensor(rng.uniform(-0.08, 0.08, n), dtype=torch.float32)
    theta = torch.stack([
        torch.stack([scale * torch.cos(ang), -scale * torch.sin(ang), tx], 1),
        torch.stack([scale * torch.sin(ang), scale * torch.cos(ang), ty], 1),
    ], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, padding_mode='border', align_corners=False)
    gamma = torch.tensor(rng.uniform(0.7, 1.4, (n, 1, 1, 1)), dtype=torch.float32)
    lo = x.amin(dim=(2, 3), keepdim=True)
    hi = x.amax(dim=(2, 3), keepdim=True)
    x = ((x - lo) / (hi - lo + 1e-6)) ** gamma
    if rng.random() < 0.5:
        x = F.avg_pool2d(x, 3, stride=1, padding=1)
    x = x + torch.randn_like(x) * torch.tensor(rng.uniform(0, 0.04, (n, 1, 1, 1)), dtype=torch.float32)
    return standardise(x)


def standardise(x):
    m = x.mean(dim=(2, 3), keepdim=True)
    s = x.std(dim=(2, 3), keepdim=True) + 1e-6
    return (x - m) / s


def auc(scores, labels):
    pos = [s for s, y in zip(scores, labels) if y > 0.5]
    neg = [s for s, y in zip(scores, labels) if y <= 0.5]
    if not pos or not neg:
        return float('nan')
    return sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))


def train(net, x, y, epochs, rng, after_epoch=None):
    """AdamW with a one-cycle schedule, batches of 64, augmented; after_epoch(epoch, mean loss) if given."""
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=epochs * math.ceil(len(y) / 64))
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(y))
        total = 0.0
        for i in range(0, len(y), 64):
            b = order[i:i + 64]
            loss = F.binary_cross_entropy_with_logits(net(augment(x[b], rng))[:, 0], y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        if after_epoch:
            after_epoch(epoch, total / len(y))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--train', nargs='+', required=True)
    ap.add_argument('--test', nargs='*', default=[])
    ap.add_argument('--out', required=True)
    ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--width', type=int, default=16)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    torch.set_num_threads(2)
    xs, ys = zip(*[load(f)[:2] for f in a.train])
    x = torch.tensor(np.concatenate(xs))[:, None]
    y = torch.tensor(np.concatenate(ys))
    print(f'train crops {len(y)} (oblique {int(y.sum())})')
    net = ViewNet(a.width)
    t0 = time.time()

    def report(epoch, loss):
        msg = f'epoch {epoch} loss {loss:.4f} {time.time() - t0:.0f} s'
        for t in a.test:
            msg += f' | {os.path.basename(t)} AUC {evaluate(net, t)[0]:.3f}'
        print(msg, flush=True)

    train(net, x, y, a.epochs, rng, report)
    os.makedirs(a.out, exist_ok=True)
    torch.save({'state': net.state_dict(), 'width': a.width, 'epochs': a.epochs, 'seed': a.seed, 'train': a.train}, os.path.join(a.out, 'last.pt'))
    with open(os.path.join(a.out, 'scores.csv'), 'w') as f:
        f.write('set,n,path,label,laterality,score\n')
        for t in a.test:
            _, scores, idx = evaluate(net, t)
            for r, s in zip(idx, scores):
                f.write(f"{os.path.basename(t)},{r['n']},{r['path']},{r['label']},{r['laterality']},{s:.4f}\n")


@torch.no_grad()
def evaluate(net, folder):
    net.eval()
    x, y, idx = load(folder)
    scores = torch.sigmoid(net(torch.tensor(x)[:, None])[:, 0]).tolist()
    return auc(scores, y.tolist()), scores, idx


if __name__ == '__main__':
    main()
