#!/usr/bin/env python3
"""Train the joint grader (grader.py) on the crops of one or more training-set folders.

Resumable: state lives in --out/last.pt (model, optimiser, epoch, step within the epoch,
wall time so far); running the same command again continues where it stopped. An
"epoch" is --crops-per-epoch crops drawn (without replacement) from all training crops,
a fresh deterministic draw each epoch, so that a CPU run gets frequent checkpoints and
validation; 0 means all crops.

  /usr/bin/python3 models/training/train_grader.py --train /tmp/jsdata/train-a /tmp/jsdata/train-b \
      --val /tmp/jsdata/val --out models/training/runs/grader --minutes 40
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import N_SITES, generator, geometric_aug, intensity_aug, lowres_aug, processing_aug, read_crop_split, read_meta, u16_batch, u16_rows, u16_to_device  # noqa: E402
from grader import SCALES, Grader, WRIST_JSN_SITES, WRIST_SITES, coral_loss  # noqa: E402
from real_disease import SITES as SITE_NAMES  # noqa: E402

FINGER_JSN_SITES = sorted(SITE_NAMES.index(s) for s in ("PIP2", "PIP3", "PIP4", "PIP5", "MCP1", "MCP2", "MCP3", "MCP4", "MCP5"))
from real_disease import write_disease  # noqa: E402
from metrics import grader_metrics  # noqa: E402
from train_common import (Budget, Checkpointer, add_common_args, close_epoch, open_pools, parse_common,  # noqa: E402
                          run_ends, setup, start_run, step_lr)


class CropPool:
    """Several crop splits seen as one indexable set."""

    def __init__(self, folders):
        self.splits = [read_crop_split(f) for f in folders]
        self.offsets = np.cumsum([0] + [len(s.site) for s in self.splits])
        self.n = int(self.offsets[-1])
        self.on_device = None

    def to_device(self, device) -> "CropPool":
        """All crops (int16, 2 bytes a pixel) and their labels in tensors on the device."""
        cat = lambda name: torch.from_numpy(np.concatenate([getattr(s, name) for s in self.splits])).to(device)  # noqa: E731
        self.on_device = (torch.cat([u16_to_device(np.asarray(s.crops), device) for s in self.splits]),
                          cat("meta"), cat("grades"), cat("geometry"))
        return self

    def batch(self, idx: np.ndarray):
        if self.on_device is not None:
            crops, meta, grades, geo = self.on_device
            i = torch.from_numpy(idx).to(crops.device)
            return u16_rows(crops, i), meta[i], grades[i], geo[i]
        crops, meta, grades, geo = [], [], [], []
        which = np.searchsorted(self.offsets, idx, side="right") - 1
        order = []
        for k, s in enumerate(self.splits):
            sel = np.nonzero(which == k)[0]
            if len(sel) == 0:
                continue
            local = idx[sel] - self.offsets[k]
            crops.append(u16_batch(s.crops, local))
            meta.append(torch.from_numpy(s.meta[local]))
            grades.append(torch.from_numpy(s.grades[local]))
            geo.append(torch.from_numpy(s.geometry[local]))
            order.append(sel)
        inv = np.argsort(np.concatenate(order))
        return (torch.cat(crops)[inv], torch.cat(meta)[inv], torch.cat(grades)[inv], torch.cat(geo)[inv])


# Grade shares of joints on real film: most joints of most hands a PACS routes are normal
# (76 % of the expert JSN scores of adult RA films are 0). The phantom's profiles give JSN 0
# to about 13 % of joints; a grader trained on that prior calls real joints diseased.
CLINICAL_PRIOR = {
    0: np.array([0.70, 0.12, 0.08, 0.06, 0.04]),          # jsn
    2: np.array([0.55, 0.20, 0.12, 0.08, 0.05]),          # kl (sites without jsn)
    1: np.array([0.75, 0.10, 0.06, 0.04, 0.03, 0.02]),    # erosion (sites with neither)
}


def clinical_weights(grades: np.ndarray) -> np.ndarray:
    """Sampling weight per crop so that the first scored grade (JSN, else KL, else erosion)
    follows CLINICAL_PRIOR: label-shift by resampling, the images themselves unchanged."""
    w = np.zeros(len(grades))
    done = np.zeros(len(grades), bool)
    for col in (0, 2, 1):
        g = grades[:, col]
        sel = (g >= 0) & ~done
        counts = np.bincount(g[sel], minlength=len(CLINICAL_PRIOR[col])).astype(float)
        share = counts / max(1.0, counts.sum())
        ratio = np.where(share > 0, CLINICAL_PRIOR[col] * sel.sum() / np.maximum(counts, 1), 0.0)
        w[sel] = ratio[g[sel]]
        done |= sel
    w[~done] = 1.0
    return w / w.sum()


def drawn_where(pool: CropPool, p: np.ndarray | None, keep: np.ndarray) -> np.ndarray:
    """Draw weights over the pool's crops (p, else uniform) restricted to those `keep` marks."""
    w = (np.ones(pool.n) if p is None else p.copy()) * keep
    return w / w.sum()


def wrist_only(pool: CropPool, p: np.ndarray | None, sites: list[int]) -> np.ndarray:
    """Draw weights restricted to crops of `sites` (the wrist bones, or all wrist JSN sites)."""
    return drawn_where(pool, p, np.isin(np.concatenate([s.site for s in pool.splits]), sites))


def scored_only(pool: CropPool, p: np.ndarray | None, scales: list[str]) -> np.ndarray:
    """Draw weights restricted to crops scored for one of `scales` (a real crop's grades as
    read before any disease is written onto it)."""
    grades = np.concatenate([s.grades for s in pool.splits])
    return drawn_where(pool, p, (grades[:, [list(SCALES).index(k) for k in scales]] >= 0).any(1))


def with_disease(rc, rm, ry, share, args, epoch, step):
    """Real crops with disease written onto a share of them (real_disease.py), labels as written."""
    sites = rm[:, :N_SITES].argmax(1).numpy()
    drawn, ry2 = write_disease(rc[:, 0].numpy(), sites, ry.numpy(), np.random.default_rng([args.seed, epoch, step]), share,
                               kl_share=args.real_kl, wrist_jsn=args.real_wrist_jsn,
                               carpal_erosion=args.real_carpal_erosion)
    return torch.from_numpy(drawn).unsqueeze(1), torch.from_numpy(ry2)


def paired(rc, rm, ry, args, epoch, step):
    """Real crops unaltered, then the same crops with disease written onto every one: the rows
    ranking_loss pairs."""
    drawn, ry2 = with_disease(rc, rm, ry, 1.0, args, epoch, step)
    return torch.cat([rc, drawn]), torch.cat([rm, rm]), torch.cat([ry, ry2])


def consistency_loss(model, cum: dict, other: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
    """Mean squared difference, over the scales, between the probabilities P(grade > k) of the
    batch's last rows (the real crops as augmented) and of the same crops processed as another
    site would (`other`, data.processing_aug); both readings take the gradient. On probabilities,
    not logits: a far threshold's logit (P(JSN > 3) of a normal joint) may swing by several units
    without moving any grade."""
    again, _ = model.train_outputs(other, meta)
    n = len(other)
    return sum(F.mse_loss(torch.sigmoid(cum[k][-n:]), torch.sigmoid(again[k])) for k in SCALES) / len(SCALES)


def ranking_loss(cum: dict, y: torch.Tensor, start: int, margin: float = 1.0) -> torch.Tensor:
    """Hinge on the ordinal score (a head's first cumulative logit less its fixed threshold)
    between the written and the unaltered copy of each real joint (rows start.. of the batch,
    unaltered first), wherever the written copy's grade of that scale is the higher: the grader
    must see what was written, not how this joint happened to look."""
    half = (len(y) - start) // 2
    a, b = slice(start, start + half), slice(start + half, start + 2 * half)
    terms = []
    for col, name in enumerate(SCALES):
        up = (y[a, col] >= 0) & (y[b, col] > y[a, col])
        if up.any():
            gap = cum[name][b, 0][up] - cum[name][a, 0][up]
            terms.append(F.relu(margin - gap))
    return torch.cat(terms).mean() if terms else cum["jsn"].sum() * 0.0


def train_mode(model: Grader, freeze_bn: bool) -> None:
    """Training mode; with freeze_bn the BatchNorm layers stay in eval mode (their running
    statistics are used and not updated; their weight and bias still train)."""
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()


@torch.no_grad()
def evaluate(model: Grader, pool: CropPool, device, batch: int = 256) -> dict:
    model.eval()
    probs = {k: [] for k in SCALES}
    geo_p = []
    for a in range(0, pool.n, batch):
        idx = np.arange(a, min(pool.n, a + batch))
        c, m, _, _ = pool.batch(idx)
        j, e, k, g = model(c.to(device), m.to(device))
        for name, p in zip(SCALES, (j, e, k)):
            probs[name].append(p.cpu().numpy())
        geo_p.append(g.cpu().numpy())
    grades = np.concatenate([s.grades for s in pool.splits])
    geo_t = np.concatenate([s.geometry for s in pool.splits])
    model.train()
    return grader_metrics({k: np.concatenate(v) for k, v in probs.items()}, grades, np.concatenate(geo_p), geo_t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", nargs="+", required=True, help="training-set folders")
    ap.add_argument("--val", nargs="+", default=None, help="validation training-set folder(s), seen as one set")
    ap.add_argument("--out", required=True, help="checkpoint folder (resumes from last.pt)")
    ap.add_argument("--minutes", type=float, default=0, help="wall-time budget of this session (0 = none)")
    ap.add_argument("--epochs", type=int, default=12, help="planned epochs (the cosine schedule spans them)")
    ap.add_argument("--crops-per-epoch", type=int, default=12000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--geo-weight", type=float, default=0.3, help="weight of the smooth-L1 geometry loss (mm)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--real", nargs="+", default=None, help="crop folders from real films (models/training/real_crops.mjs), geometry unknown")
    ap.add_argument("--real-share", type=float, default=0.25, help="share of each batch drawn from --real")
    ap.add_argument("--real-disease", type=float, default=0.0, help="share of real crops with narrowing / erosions written onto them (real_disease.py)")
    ap.add_argument("--real-wrist-jsn", action="store_true", help="write narrowing at the wrist's JSN sites too (real_disease.write_disease wrist_jsn)")
    ap.add_argument("--real-carpal-erosion", action="store_true",
                    help="the real carpal crops (STT, CSL, RC) scored for erosion, ragged erosions written there, "
                         "collapsed from grade 3 (real_disease.write_disease carpal_erosion)")
    ap.add_argument("--real-kl", type=float, default=0.0, help="share of the written real crops that get osteoarthritis "
                    "(KL 2-4: spurs, sclerosis, narrowing) instead, where the joint has a KL score and a joint space")
    ap.add_argument("--pairs", type=float, default=0.0,
                    help="weight of a ranking loss on real crops seen twice in a batch, unaltered and with disease written "
                         "(every one of them: --real-disease is not used): where a score was written higher, the grader's "
                         "score for it must come out higher than on the same joint unaltered, by a margin of 1")
    ap.add_argument("--consistency", type=float, default=0.0,
                    help="weight of a consistency loss on the real crops: each read again under another site's processing "
                         "(data.processing_aug: tone curve, edge enhancement, coarser detector), the squared difference of "
                         "the two readings' P(grade > k) per scale (train_grader.consistency_loss): the grades must not follow the processing")
    ap.add_argument("--real-geometric", action="store_true",
                    help="real crops mirrored, turned, scaled and shifted afresh in every batch (data.geometric_aug)")
    ap.add_argument("--prior", choices=["phantom", "clinical"], default="phantom", help="grade shares the synthetic crops are drawn with")
    ap.add_argument("--lowres", type=float, default=0.0, help="share of crops blurred as a film scanned or stored at 0.25-0.5 mm per pixel is")
    ap.add_argument("--train-only", choices=["wrist"], default=None,
                    help="wrist: train only the wrist bones' erosion shift (Grader.wrist_erosion) on STT, CSL "
                         "and RC crops; every other output stays as --init had it (implies --freeze-bn)")
    ap.add_argument("--wrist-sites-only", action="store_true",
                    help="draw only crops of the wrist JSN sites (CMC3-5, STT, CSL, RC), every weight trained: a member "
                         "read at the wrist alone (grader.GraderEnsemble wrist_jsn) need not learn the fingers")
    ap.add_argument("--finger-jsn-sites-only", action="store_true",
                    help="draw only crops of the finger and thumb JSN sites (PIP2-5, MCP1-5), every weight trained: the "
                         "finger counterpart of --wrist-sites-only (an experiment: models/training/README.md, run v26)")
    ap.add_argument("--scales", nargs="+", choices=list(SCALES), default=None,
                    help="train only these scales' losses (and geometry), drawing only crops scored for one of them: "
                         "a member read for one score alone (grader.GraderEnsemble kl) need not keep the others")
    ap.add_argument("--freeze-bn", action="store_true", help="keep BatchNorm in eval mode (running statistics frozen, "
                    "weight and bias still trained): fine-tuning a checkpoint rebuilt from the ONNX (onnx_to_ckpt.py), whose "
                    "BatchNorm is folded")
    add_common_args(ap, "crops")
    args = parse_common(ap)

    device = setup(args.threads, args.seed, args.device)
    budget = Budget(args.minutes)
    ck = Checkpointer(args.out)
    train, val = open_pools(args, CropPool, device)
    real = CropPool(args.real) if args.real else None
    n_real = int(round(args.batch * args.real_share)) if real else 0
    syn_p = clinical_weights(np.concatenate([s.grades for s in train.splits])) if args.prior == "clinical" else None
    print(f"train crops {train.n}; real crops {real.n if real else 0} ({n_real} a batch); val crops {val.n if val else 0}; prior {args.prior}", flush=True)

    model = Grader(args.width).to(device)
    if args.train_only == "wrist":
        args.freeze_bn = True
        for name, prm in model.named_parameters():
            prm.requires_grad_(name.startswith("wrist_erosion."))
    # the sites crops are drawn from: the wrist bones for their erosion head, the wrist JSN sites for a wrist member
    sample_sites = (WRIST_SITES if args.train_only == "wrist" else WRIST_JSN_SITES if args.wrist_sites_only
                    else FINGER_JSN_SITES if args.finger_jsn_sites_only else None)
    if sample_sites is not None:
        syn_p = wrist_only(train, syn_p, sample_sites)
    scales = args.scales or list(SCALES)
    if args.scales:
        syn_p = scored_only(train, syn_p, scales)
    opt, epoch, step, wall, best, init, sched = start_run(args, model, ck, budget)
    train_metas = {f: read_meta(f) for f in args.train}

    per_epoch = min(args.crops_per_epoch or train.n, train.n)
    steps_per_epoch = per_epoch // args.batch
    total_steps = args.epochs * steps_per_epoch

    def snapshot(is_best=False):
        ck.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch, "step": step,
                 "wall_s": wall + budget.elapsed(), "best": best, "args": vars(args),
                 "train_crops": train.n, "crops_seen": epoch * steps_per_epoch * args.batch + step * args.batch,
                 "train_metas": train_metas, **({"init": init} if init else {})}, is_best)

    real_p = wrist_only(real, None, sample_sites) if real and sample_sites is not None else None
    if real and args.scales:
        real_p = scored_only(real, real_p, scales)
    train_mode(model, args.freeze_bn)
    while epoch < args.epochs:
        rng = np.random.default_rng(args.seed * 7919 + epoch)
        perm = rng.choice(train.n, per_epoch, p=syn_p) if syn_p is not None else rng.permutation(train.n)[:per_epoch]
        real_perm = rng.choice(real.n, steps_per_epoch * n_real, p=real_p) if real else None
        # summed on the device (no host sync per step for the bookkeeping)
        sums = {k: torch.zeros((), device=device) for k in ("loss", "jsn", "erosion", "kl", "geo", "rank", "consistency")}
        nsteps = 0
        t_ep = time.time()
        stop = False
        while step < steps_per_epoch:
            lr = step_lr(opt, args.lr, sched, epoch, step, steps_per_epoch, total_steps)
            idx = perm[step * (args.batch - n_real):(step + 1) * (args.batch - n_real)]
            c, m, y, geo = train.batch(idx)
            if real:
                rc, rm, ry, rgeo = real.batch(real_perm[step * n_real:(step + 1) * n_real])
                if args.pairs > 0:
                    rc, rm, ry = paired(rc[:n_real // 2], rm[:n_real // 2], ry[:n_real // 2], args, epoch, step)
                    rgeo = rgeo[:len(rc)]
                elif args.real_disease > 0:
                    rc, ry = with_disease(rc, rm, ry, args.real_disease, args, epoch, step)
                if args.real_geometric:
                    rc = geometric_aug(rc, generator(args.seed + 1, epoch, step))
                c, m, y, geo = torch.cat([c, rc]), torch.cat([m, rm]), torch.cat([y, ry]), torch.cat([geo, rgeo])
            g = generator(args.seed, epoch, step)
            # the real crops as another site would have processed them, before this batch's own augmentation
            other_site = processing_aug(c[len(c) - len(rc):], generator(args.seed + 2, epoch, step)) if real and args.consistency > 0 else None
            c = intensity_aug(c, g)
            if args.lowres > 0:
                c = lowres_aug(c, g, args.lowres)
            c, m, y, geo = c.to(device), m.to(device), y.to(device), geo.to(device)
            cum, gp = model.train_outputs(c, m)
            known = ~torch.isnan(geo).any(1)  # real crops: geometry unknown
            loss = args.geo_weight * F.smooth_l1_loss(gp[known], geo[known])
            sums["geo"] += F.l1_loss(gp[known], geo[known]).detach()
            for col, name in enumerate(SCALES):
                lsum, n = coral_loss(cum[name], y[:, col])
                if n and name in scales:
                    loss = loss + lsum / n
                    sums[name] += (lsum / n).detach()
            if other_site is not None:
                cons = consistency_loss(model, cum, other_site.to(device), m[len(m) - len(other_site):])
                loss = loss + args.consistency * cons
                sums["consistency"] += cons.detach()
            if args.pairs > 0 and real:
                rank = ranking_loss(cum, y, len(y) - len(rc))
                loss = loss + args.pairs * rank
                sums["rank"] += rank.detach()
            opt.zero_grad(set_to_none=True)
            if loss.requires_grad:  # --train-only: a batch may hold nothing the trained part sees
                loss.backward()
                opt.step()
            sums["loss"] += loss.detach()
            nsteps += 1
            step += 1
            if step % 50 == 0:
                print(f"epoch {epoch} step {step}/{steps_per_epoch} loss {float(sums['loss']) / nsteps:.4f} "
                      f"lr {lr:.2e} {args.batch * nsteps / (time.time() - t_ep):.0f} crops/s", flush=True)
            if budget.over() and sched:
                stop = True  # the schedule is spent: validate and log this partial epoch below
                break
            if budget.over():
                snapshot()
                print(f"time budget reached at epoch {epoch} step {step}; saved {ck.last}", flush=True)
                return
        # end of epoch: validate, log, checkpoint
        row = {"epoch": epoch + 1, "wall_s": round(wall + budget.elapsed()), "lr": lr,
               **{f"train_{k}": float(v) / max(1, nsteps) for k, v in sums.items()}}
        if sched:
            row["steps"] = nsteps
        score = None
        if val:
            mets = evaluate(model, val, device)
            train_mode(model, args.freeze_bn)  # evaluate() leaves the whole model in training mode
            row.update({f"val_{k}": v for k, v in mets.items()})
            score = float(np.nanmean([mets[f"{k}_qwk"] for k in scales]))
            row["val_mean_qwk"] = score
        epoch += 1
        step = 0
        best, improved = close_epoch(ck, row, score, best)
        snapshot(improved or val is None)
        if run_ends(stop, budget, epoch, ck):
            return
    print("planned epochs done", flush=True)


if __name__ == "__main__":
    main()
