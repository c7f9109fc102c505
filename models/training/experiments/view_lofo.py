#!/usr/bin/env python3
"""Leave-one-film-out check of the view classifier with real films in training: phantom crops
(view_crops.mjs) plus the real crops of every film but one, the held-out film's hands scored
by a network that never saw it. Says whether real obliques and real PA hands teach what the
phantom alone does not (models/training/README.md, "A view classifier for obliques").

  python3 models/training/experiments/view_lofo.py --phantom /tmp/view/s1 /tmp/view/s2 /tmp/view/s3 \
      --real /tmp/view/real --epochs 10 --real-repeat 10 --out /tmp/view/lofo.csv
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from train_view import ViewNet, auc, load, train  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--phantom', nargs='+', required=True)
    ap.add_argument('--real', required=True)
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--real-repeat', type=int, default=10)
    ap.add_argument('--out', required=True)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(2)
    px, py = zip(*[load(f)[:2] for f in a.phantom])
    px, py = np.concatenate(px), np.concatenate(py)
    rx, ry, ridx = load(a.real)
    films = sorted({r['path'] for r in ridx})
    scores = np.zeros(len(ry))
    for k, film in enumerate(films):
        held = np.array([r['path'] == film for r in ridx])
        x = torch.tensor(np.concatenate([px] + [rx[~held]] * a.real_repeat))[:, None]
        y = torch.tensor(np.concatenate([py] + [ry[~held]] * a.real_repeat))
        torch.manual_seed(a.seed)
        rng = np.random.default_rng(a.seed)
        net = ViewNet(16)
        train(net, x, y, a.epochs, rng)
        net.eval()
        with torch.no_grad():
            scores[held] = torch.sigmoid(net(torch.tensor(rx[held])[:, None])[:, 0]).numpy()
        print(f'{k + 1}/{len(films)} {os.path.basename(film)[:40]} label {int(ry[held][0])} score {scores[held].max():.3f}', flush=True)
    print(f'leave-one-film-out AUC {auc(scores.tolist(), ry.tolist()):.3f} ({int(ry.sum())} oblique hands of {len(ry)})')
    with open(a.out, 'w') as f:
        f.write('path,laterality,label,score\n')
        for r, s in zip(ridx, scores):
            f.write(f"{r['path']},{r['laterality']},{r['label']},{s:.4f}\n")


if __name__ == '__main__':
    main()
