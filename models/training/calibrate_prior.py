#!/usr/bin/env python3
"""Choose the grader's healthy-grade prior weight per score on real training crops.

The grader's probabilities come out of training on a mix of phantoms and real crops; on real
film its "doubtful" grades (JSN 1, erosion 1) fall on normal joints too often. A log-weight
b added to the healthy grades (JSN 0; erosion 0; KL 0 and 1) shifts the decision towards
healthy, as a higher prior of normal joints would (a cohort routed from a PACS is mostly
normal joints). b is the smallest value on a grid for which at most --target of the
*training* real crops (labelled healthy) are called diseased on that score; the same crops
with disease written onto them (real_disease.py, a fixed seed) show what it costs in
sensitivity. Held-out crops are never used here (eval_real_disease.py measures them). The
wrist bones (STT, CSL, RC crops) get their own weights: a normal carpal crop is full of edges
and rings that a joint crop of a finger does not have, so one weight for both would either
call normal wrists eroded or blunt the fingers. So do the thumb's joints (IP1, MCP1, CMC1):
on a PA film the thumb lies turned, half in profile, its outlines overlapping where the
phantom draws it flat. `--base` keeps an earlier release's weights where they still hold
(`--choose wrist.erosion`: only the wrist bones' erosion head was trained; `--choose
thumb.erosion`: only the thumb's erosion weight chosen anew). `--grade-weights jsn` keeps a base's weights and
chooses those of JSN 3 and 4 on written narrowing (grader 0.9.1).

  /usr/bin/python3 models/training/calibrate_prior.py --ckpt models/training/runs/grader-v5/last.pt \\
      --crops /tmp/jsd/real-train --out models/training/runs/grader-v5/prior.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import N_SITES, read_crop_split  # noqa: E402
from grader import PRIOR_KEYS, PRIOR_PARTS, SCALES, WRIST_JSN_SITES, Grader, add_member_args, load_grader, member_ckpts, part_of_site, wrist_row_sites  # noqa: E402
from eval_real_disease import written  # noqa: E402
from real_disease import SITES, write_disease  # noqa: E402

HEALTHY = {"jsn": [0], "erosion": [0], "kl": [0, 1]}
GRID = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0]


@torch.no_grad()
def probabilities(model: Grader, crops: np.ndarray, meta: np.ndarray) -> dict[str, np.ndarray]:
    out = {k: [] for k in SCALES}
    for i in range(0, len(crops), 256):
        jsn, ero, kl, _ = model(torch.from_numpy(crops[i:i + 256]).unsqueeze(1).float(), torch.from_numpy(meta[i:i + 256]))
        for k, v in zip(SCALES, (jsn, ero, kl)):
            out[k].append(v.numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def called(p: np.ndarray, healthy: list[int], b: float) -> np.ndarray:
    w = np.zeros(p.shape[1])
    w[healthy] = b
    grade = (p * np.exp(w)).argmax(1)
    return ~np.isin(grade, healthy)


def graded(p: np.ndarray, part_of: np.ndarray, weights: dict, score: str) -> np.ndarray:
    """Each crop's grade on a score with its part's weights."""
    grade = np.zeros(len(p), int)
    for part in PRIOR_PARTS:
        rows = part_of == part
        grade[rows] = (p[rows] * np.exp(np.asarray(weights[part][score]))).argmax(1)
    return grade


def share_called(p: dict[str, np.ndarray], labels: np.ndarray, part_of: np.ndarray, weights: dict) -> float:
    """The share of crops called mild or severe on any score they have, each crop with its
    part's weights (as eval_real_disease.py counts the normal joints called)."""
    any_called = np.zeros(len(labels), bool)
    for col, score in enumerate(SCALES):
        any_called |= (labels[:, col] >= 0) & ~np.isin(graded(p[score], part_of, weights, score), HEALTHY[score])
    return float(any_called.mean())


def copied(base: dict) -> dict:
    """A copy of prior weights (part -> score -> list) to change."""
    return {part: {k: list(v) for k, v in w.items()} for part, w in base.items()}


def written_jsn(args, model, crops, meta, labels, part_of: np.ndarray):
    """Narrowing written --repeats times per crop as eval_real_disease.py --per-crop writes it: the
    JSN written, the JSN probabilities read, and each row's prior part (the draws stacked)."""
    sites = meta[:, :N_SITES].argmax(1)
    draws = [written(crops, sites, labels, args.seed + 1000 * k, per_crop=True) for k in range(args.repeats)]
    truth = np.concatenate([t[:, 0] for _, t in draws])
    sick = np.concatenate([probabilities(model, d, meta)["jsn"] for d, _ in draws])
    return truth, sick, np.tile(part_of, args.repeats)


def shifted(base: dict, delta: float) -> dict:
    """base's weights with the healthy JSN and erosion weights of every part moved by delta."""
    out = copied(base)
    for part in out:
        for score in ("jsn", "erosion"):
            out[part][score][0] += delta
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True, nargs="+", help="a grader checkpoint; several: their ensemble (grader.GraderEnsemble)")
    add_member_args(ap)
    ap.add_argument("--crops", required=True, help="real training crops (real_crops.mjs), labelled healthy")
    ap.add_argument("--target", type=float, default=0.08, help="largest share of healthy training crops called diseased, per score")
    ap.add_argument("--max-subsample", type=int, default=3000)
    ap.add_argument("--base", default=None, help="an earlier prior.json whose weights are kept, except those --choose names")
    ap.add_argument("--wrist-row-jsn-sites", action="store_true",
                    help="the prior's wrist row weighs the wrist JSN sites (CMC3-5, STT, CSL, RC; grader.wrist_row_sites)")
    ap.add_argument("--choose", nargs="+", default=None, help="the weights chosen here, as part.score (wrist.erosion); default all")
    ap.add_argument("--chosen-on", default=None, help="what the crops are, for the manifest (default: real training crops labelled healthy)")
    ap.add_argument("--shift-to", type=float, default=None,
                    help="instead of choosing per score: move --base's healthy JSN and erosion weights, every part by "
                         "one amount (steps of 0.25), as far towards disease as keeps the share of crops called mild "
                         "or severe on any score at most this (an ensemble put at an earlier release's operating point)")
    ap.add_argument("--shift-to-written", type=float, default=None,
                    help="as --shift-to, but the least move that has written narrowing (JSN 2-4, drawn --repeats times "
                         "per crop as eval_real_disease.py --per-crop draws it) called on at least this share of the crops")
    ap.add_argument("--shift", type=float, default=None,
                    help="move --base's healthy JSN and erosion weights by exactly this (a point of the frontier, "
                         "models/training/README.md 'Grader 0.9.0'); the scan is written as for --shift-to")
    ap.add_argument("--grade-weights", choices=["jsn"], default=None,
                    help="keep --base's weights and choose those of JSN 3 and 4 (every part alike): the most written "
                         "narrowing graded exactly, with no more normal crops called, no less written narrowing called "
                         "and the written JSN 0 crops kept at 0 as --base does (drawn as for --shift-to-written); near "
                         "ties (0.005) go to the smallest weights")
    ap.add_argument("--repeats", type=int, default=32)
    ap.add_argument("--seed", type=int, default=20261202, help="eval_real_disease.py's seed, so the shares are the ones it reports")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, _ = load_grader(args.ckpt, **member_ckpts(args))
    s = read_crop_split(args.crops)
    idx = np.random.default_rng(7).permutation(len(s.site))[:args.max_subsample]
    crops = np.asarray(s.crops[np.sort(idx)], np.float32) / 65535.0
    meta, labels = s.meta[np.sort(idx)], s.grades[np.sort(idx)]
    healthy_p = probabilities(model, crops, meta)
    base, b = {}, {}
    if args.base:
        with open(args.base) as f:
            b = json.load(f)
        base = {part: b.get(PRIOR_KEYS[part], b["logWeights"]) for part in PRIOR_PARTS}
    # the wrist row's sites: the base's, or the wrist JSN sites where asked (they then take the
    # base's wrist row, which must agree with its hand row on JSN for the hand's CMC3-5 to stay)
    row = {"wristRowSites": [SITES[i] for i in WRIST_JSN_SITES]} if args.wrist_row_jsn_sites else \
        ({"wristRowSites": b["wristRowSites"]} if "wristRowSites" in b else {})
    part_of = part_of_site(meta[:, :N_SITES].argmax(1), wrist_row_sites(row))
    if args.grade_weights:
        return grade_weights(args, base, model, crops, meta, labels, healthy_p, part_of, len(idx))
    if args.shift is not None or args.shift_to is not None or args.shift_to_written is not None:
        return shift_base(args, base, model, crops, meta, labels, healthy_p, part_of, len(idx))
    sick_crops, truth = write_disease(crops, meta[:, :N_SITES].argmax(1), labels, np.random.default_rng(11), p=1.0)
    sick_p = probabilities(model, sick_crops, meta)
    weights, table = {part: {} for part in PRIOR_PARTS}, {part: {} for part in PRIOR_PARTS}
    for part in PRIOR_PARTS:
        where = part_of == part
        for col, score in enumerate(SCALES):
            scored = where & (labels[:, col] >= 0)
            diseased = where & (truth[:, col] >= (2 if score == "jsn" else 1))
            rows = []
            for b in GRID:
                fp = float(called(healthy_p[score][scored], HEALTHY[score], b).mean()) if scored.any() else 0.0
                tp = float(called(sick_p[score][diseased], HEALTHY[score], b).mean()) if diseased.any() else None
                rows.append({"b": b, "healthy_called": round(fp, 4), "written_disease_called": None if tp is None else round(tp, 4),
                             "healthy": int(scored.sum())})
            table[part][score] = rows
            if args.choose is None or f"{part}.{score}" in args.choose:
                chosen = next((r["b"] for r in rows if r["healthy_called"] <= args.target + 1e-9), GRID[-1])
                # the base's other weights (JSN 3 and 4 since 0.9.1) stay; only the healthy ones are chosen
                w = list(base[part][score]) if base else [0.0] * SCALES[score]
                for g in HEALTHY[score]:
                    w[g] = chosen
            else:
                w = base[part][score]
            weights[part][score] = w
    result = {**{PRIOR_KEYS[part]: weights[part] for part in PRIOR_PARTS}, **row,
              "target": args.target,
              "crops": args.crops, "n": int(len(idx)), "curves": table, **({"base": args.base} if args.base else {}),
              **({"chosenOn": f"{len(idx)} {args.chosen_on}"} if args.chosen_on else {})}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({part: {k: next((r for r in table[part][k] if r["b"] == w[k][0]), {"b": w[k][0], "grid": "not on it (a --base weight)"})
                             for k in w} for part, w in weights.items()}, indent=1))


def shift_base(args, base: dict, model, crops, meta, labels, healthy_p: dict, part_of: np.ndarray, n: int) -> None:
    """--shift / --shift-to / --shift-to-written: one move of base's JSN and erosion weights, scanned from
    towards disease to towards health (steps of 0.25), the normal crops called and, with
    --shift-to-written, the written narrowing called at each."""
    sick_jsn, narrowed_part = None, None
    if args.shift_to_written is not None:
        truth, sick, part = written_jsn(args, model, crops, meta, labels, part_of)
        sick_jsn, narrowed_part = sick[truth >= 2], part[truth >= 2]
    scan = []
    for d in np.arange(-3.0, 3.01, 0.25).round(2).tolist():
        w = shifted(base, d)
        row = {"shift": d, "called": round(share_called(healthy_p, labels, part_of, w), 4)}
        if sick_jsn is not None:
            row["writtenJsnCalled"] = round(float((graded(sick_jsn, narrowed_part, w, "jsn") >= 1).mean()), 4)
        scan.append(row)
    if args.shift is not None:
        delta, target = args.shift, None
    elif args.shift_to_written is not None:
        delta = next((r["shift"] for r in reversed(scan) if r["writtenJsnCalled"] >= args.shift_to_written), scan[0]["shift"])
        target = {"writtenJsnCalled": args.shift_to_written, "repeats": args.repeats, "seed": args.seed}
    else:
        delta = next((r["shift"] for r in scan if r["called"] <= args.shift_to), scan[-1]["shift"])
        target = args.shift_to
    weights = shifted(base, delta)
    result = {**{PRIOR_KEYS[part]: weights[part] for part in PRIOR_PARTS}, "target": target,
              "shift": delta, "base": args.base, "crops": args.crops, "n": n, "shiftScan": scan,
              **({"chosenOn": f"{n} {args.chosen_on}"} if args.chosen_on else {})}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(next((r for r in scan if r["shift"] == delta), {"shift": delta})))


GRADE_GRID = np.arange(-1.0, 3.51, 0.25).round(2).tolist()


def grade_weights(args, base: dict, model, crops, meta, labels, healthy_p: dict, part_of: np.ndarray, n: int) -> None:
    """--grade-weights jsn: base's weights with JSN 3's and 4's chosen on written narrowing. Why: the
    ensemble grades written narrowing a grade low (JSN 3 as 2, 4 as 3), which the healthy weight
    cannot move. JSN 1 and 2 keep base's weights: the writer draws no JSN 1, so a rule free to move
    JSN 2 against 1 (tried: 1.25, 1.75, 2.75) stops giving JSN 1 at all (phantom JSN 1 joints all
    graded 0 or 2), which the scale has and readers use."""
    truth, sick, sick_part = written_jsn(args, model, crops, meta, labels, part_of)

    def measured(w: dict) -> dict:
        g = graded(sick, sick_part, w, "jsn")
        n2 = truth >= 2
        return {"exact": float((g[n2] == truth[n2]).mean()), "called": float((g[n2] >= 1).mean()),
                "zeroKept": float((g[truth == 0] == 0).mean()), "normalsCalled": share_called(healthy_p, labels, part_of, w)}

    def with_grades(w3: float, w4: float) -> dict:
        out = copied(base)
        for part in out:
            out[part]["jsn"][3:5] = [w3, w4]
        return out

    at_base = measured(base)
    ok = []
    for w3 in GRADE_GRID:
        for w4 in GRADE_GRID:
            m = measured(with_grades(w3, w4))
            if (m["normalsCalled"] <= at_base["normalsCalled"] and m["called"] >= at_base["called"]
                    and m["zeroKept"] >= at_base["zeroKept"] - 0.005):
                ok.append(((w3, w4), m))
    top = max(m["exact"] for _, m in ok)
    chosen, m = min((c for c in ok if c[1]["exact"] >= top - 0.005), key=lambda c: (sum(abs(x) for x in c[0]), -c[1]["exact"]))
    weights = with_grades(*chosen)
    result = {**{PRIOR_KEYS[part]: weights[part] for part in PRIOR_PARTS}, "target": {"gradeWeights": "jsn", "repeats": args.repeats, "seed": args.seed},
              "base": args.base, "crops": args.crops, "n": n, "atBase": at_base, "chosen": {"jsn3and4": chosen, **m},
              **({"chosenOn": f"{n} {args.chosen_on}"} if args.chosen_on else {})}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({"atBase": at_base, "chosen": result["chosen"]}))


if __name__ == "__main__":
    main()
