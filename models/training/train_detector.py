#!/usr/bin/env python3
"""Train the joint detector (detector.py) on the letterboxed images of one or more
training-set folders: CenterNet focal loss on 42 Gaussian heatmaps at stride 4.

Augmentation per batch, deterministic from (seed, epoch, step): horizontal flip with the
L <-> R channel swap, rotation / scale / shift, occluders, intensity (gamma, contrast,
brightness, blur, noise).

Resumable exactly like train_grader.py (--out/last.pt; same command continues).

  /usr/bin/python3 models/training/train_detector.py --train /tmp/jsdata/train-a /tmp/jsdata/train-b \
      --val /tmp/jsdata/val --out models/training/runs/detector --minutes 40
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import (STRIDE, affine_aug, generator, heatmap_targets, intensity_aug, occlusion_aug,  # noqa: E402
                  read_detector_split, read_meta, u16_batch, u16_rows, u16_to_device)
from detector import Detector, decode, focal_loss  # noqa: E402
from metrics import detector_metrics  # noqa: E402
from train_common import (Budget, Checkpointer, add_common_args, close_epoch, open_pools, parse_common,  # noqa: E402
                          run_ends, setup, start_run, step_lr)


class ImagePool:
    def __init__(self, folders):
        self.splits = [read_detector_split(f) for f in folders]
        self.offsets = np.cumsum([0] + [len(s.scale) for s in self.splits])
        self.n = int(self.offsets[-1])
        cat = lambda name: np.concatenate([getattr(s, name) for s in self.splits])  # noqa: E731
        self.joints, self.scale, self.spacing = cat("joints"), cat("scale"), cat("spacing")
        self.content_w = cat("content_w")
        self.size = self.splits[0].size
        self.on_device = None

    def to_device(self, device) -> "ImagePool":
        """All images in one int16 tensor on the device (2 bytes a pixel): batches are then
        gathered there, with no host work per step."""
        self.on_device = torch.cat([u16_to_device(np.asarray(s.images), device) for s in self.splits])
        return self

    def images(self, idx: np.ndarray) -> torch.Tensor:
        if self.on_device is not None:
            return u16_rows(self.on_device, torch.from_numpy(idx).to(self.on_device.device))
        which = np.searchsorted(self.offsets, idx, side="right") - 1
        out = torch.empty(len(idx), 1, self.size, self.size)
        for k, s in enumerate(self.splits):
            sel = np.nonzero(which == k)[0]
            if len(sel):
                out[torch.from_numpy(sel)] = u16_batch(s.images, idx[sel] - self.offsets[k])
        return out


@torch.no_grad()
def evaluate(model: Detector, pool: ImagePool, device, threshold: float, batch: int = 32) -> dict:
    model.eval()
    xy, pk = [], []
    for a in range(0, pool.n, batch):
        idx = np.arange(a, min(pool.n, a + batch))
        heat = model(pool.images(idx).to(device)).cpu()
        p, v = decode(heat)
        xy.append(p.numpy())
        pk.append(v.numpy())
    model.train()
    return detector_metrics(np.concatenate(xy), np.concatenate(pk), pool.joints, pool.scale, pool.spacing, threshold)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--val", nargs="+", default=None, help="validation folder(s), seen as one set")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=0)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--images-per-epoch", type=int, default=0, help="0 = all training images")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--sigma", type=float, default=1.5, help="heatmap Gaussian sigma, output cells")
    ap.add_argument("--threshold", type=float, default=0.3, help="peak threshold used by the metrics (manifest)")
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--rot-deg", type=float, default=12.0,
                    help="rotation augmentation, +- degrees (45: with the node's quarter turns, every angle)")
    add_common_args(ap, "images")
    args = parse_common(ap)

    device = setup(args.threads, args.seed, args.device)
    budget = Budget(args.minutes)
    ck = Checkpointer(args.out)
    train, val = open_pools(args, ImagePool, device)
    out_cells = train.size // STRIDE
    print(f"train images {train.n}; val images {val.n if val else 0}", flush=True)

    model = Detector(args.width).to(device)
    opt, epoch, step, wall, best, init, sched = start_run(args, model, ck, budget)
    train_metas = {f: read_meta(f) for f in args.train}

    per_epoch = min(args.images_per_epoch or train.n, train.n)
    steps_per_epoch = per_epoch // args.batch
    total_steps = args.epochs * steps_per_epoch

    def snapshot(is_best=False):
        ck.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch, "step": step,
                 "wall_s": wall + budget.elapsed(), "best": best, "args": vars(args), "train_images": train.n,
                 "train_metas": train_metas, **({"init": init} if init else {})}, is_best)

    model.train()
    while epoch < args.epochs:
        perm = np.random.default_rng(args.seed * 7919 + epoch).permutation(train.n)[:per_epoch]
        loss_sum, nsteps, t_ep = torch.zeros((), device=device), 0, time.time()
        stop = False
        while step < steps_per_epoch:
            lr = step_lr(opt, args.lr, sched, epoch, step, steps_per_epoch, total_steps)
            idx = perm[step * args.batch:(step + 1) * args.batch]
            g = generator(args.seed, epoch, step)
            x = train.images(idx)
            x, joints = affine_aug(x, torch.from_numpy(train.joints[idx]), torch.from_numpy(train.content_w[idx]), g,
                                   rot_deg=args.rot_deg)
            x = occlusion_aug(x, g, p=0.3)
            x = intensity_aug(x, g)
            target = heatmap_targets(joints.to(device), out_cells, args.sigma)
            loss = focal_loss(model.logits(x.to(device)), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()  # summed on the device: no host sync per step
            nsteps += 1
            step += 1
            if step % 20 == 0:
                print(f"epoch {epoch} step {step}/{steps_per_epoch} loss {float(loss_sum) / nsteps:.4f} lr {lr:.2e} "
                      f"{args.batch * nsteps / (time.time() - t_ep):.1f} img/s", flush=True)
            if budget.over() and sched:
                stop = True  # the schedule is spent: validate and log this partial epoch below
                break
            if budget.over():
                snapshot()
                print(f"time budget reached at epoch {epoch} step {step}; saved {ck.last}", flush=True)
                return
        row = {"epoch": epoch + 1, "wall_s": round(wall + budget.elapsed()), "lr": lr,
               "train_loss": float(loss_sum) / max(1, nsteps)}
        if sched:
            row["steps"] = nsteps
        score = None
        if val:
            mets = evaluate(model, val, device, args.threshold)
            row.update({f"val_{k}": v for k, v in mets.items()})
            score = mets["pck_10pct_mcp2_mcp5"]
        epoch += 1
        step = 0
        best, improved = close_epoch(ck, row, score, best)
        snapshot(improved or val is None)
        if run_ends(stop, budget, epoch, ck):
            return
    print("planned epochs done", flush=True)


if __name__ == "__main__":
    main()
