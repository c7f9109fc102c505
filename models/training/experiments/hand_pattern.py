#!/usr/bin/env python3
"""How often the hand-level pattern (src/analysis/severity.ts summarizeHand: "RA-like" when enough
RA sites carry JSN >= 2 or an erosion, "OA-like" when enough OA sites carry KL >= 2) is said of
real hands, normal and with disease written onto some of their joints, for rules that differ in
how many joints they ask for and which sites count. A hand is a crop set's (image, laterality):
the joints the node grades on that film, as real_crops.mjs cut them.

- normal hands: the crops as they are (held-out films: normal joints apart from one injury);
- RA written at k joints: k of the hand's MCP, PIP and wrist crops (RA spares the DIPs) take
  their copy with narrowing (JSN 2-4) or erosions written (eval_real_disease.written, one
  generator per crop and draw), the others stay as they are; `--repeats` draws per hand;
- OA written at k joints: the same with osteoarthritis (KL 2-4) at DIP, PIP, IP1 and CMC1 crops;
- `--ra-wrists` (crops of ../shared/real/adult-ra-wrists, labels.csv): the share of erosive and
  of non-erosive RA wrists said to be RA-like, each film one hand.

  R=models/training/runs; M="$R/grader-v12/model.pt $R/grader-v13/last.pt $R/grader-v14/last.pt"
  W="--wrist-jsn-ckpt $R/grader-v22/last.pt --wrist-erosion-ckpt $R/grader-v21/last.pt"
  /usr/bin/python3 models/training/experiments/hand_pattern.py --ckpt $M $W --prior-weights PRIOR.json \
      --crops /tmp/gate-test [--ra-wrists /tmp/ra-crops ../shared/real/adult-ra-wrists/labels.csv]
"""
import argparse
import csv
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from data import N_SITES, read_crop_split  # noqa: E402
from eval_real_disease import films_of, grades_of, probabilities_of, written  # noqa: E402
from grader import add_member_args, grader_from_args  # noqa: E402
from real_disease import SITES  # noqa: E402

# the site sets of summarizeHand (its regexes: /^(MCP|CMC[345]|STT|CSL|RC)/, /^(DIP|PIP|IP1|CMC1)/)
RA_SITES = [i for i, s in enumerate(SITES) if s.startswith("MCP") or s in ("CMC3", "CMC4", "CMC5", "STT", "CSL", "RC")]
RA_SITES_PIP = RA_SITES + [i for i, s in enumerate(SITES) if s.startswith("PIP")]
OA_SITES = [i for i, s in enumerate(SITES) if s.startswith(("DIP", "PIP")) or s in ("IP1", "CMC1")]
# where RA is written: the joints RA damages (MCP, PIP, wrist), not the DIPs
RA_WRITTEN_AT = set(RA_SITES_PIP)

RULES = {
    "RA: 2 of MCP+wrist (shipped)": (RA_SITES, 2),
    "RA: 3 of MCP+wrist": (RA_SITES, 3),
    "RA: 3 of MCP+PIP+wrist": (RA_SITES_PIP, 3),
    "RA: 4 of MCP+PIP+wrist": (RA_SITES_PIP, 4),
}
OA_RULES = {"OA: 2 (shipped)": 2, "OA: 3": 3}


def ra_count(grades: dict, labels: np.ndarray, sites: np.ndarray, at: list) -> int:
    """Joints at the given sites with JSN >= 2 or an erosion, each score only where it is graded."""
    hit = ((labels[:, 0] >= 0) & (grades["jsn"] >= 2)) | ((labels[:, 1] >= 0) & (grades["erosion"] >= 1))
    return int((hit & np.isin(sites, at)).sum())


def oa_count(grades: dict, labels: np.ndarray, sites: np.ndarray) -> int:
    return int((((labels[:, 2] >= 0) & (grades["kl"] >= 2)) & np.isin(sites, OA_SITES)).sum())


def said(grades, labels, sites) -> dict:
    """Each rule's verdict on one hand: RA-like (or mixed) for the RA rules, OA-like (or mixed) for the OA ones."""
    out = {name: ra_count(grades, labels, sites, at) >= k for name, (at, k) in RULES.items()}
    out |= {name: oa_count(grades, labels, sites) >= k for name, k in OA_RULES.items()}
    return out


def take(g: dict, idx) -> dict:
    return {k: v[idx] for k, v in g.items()}


def mix(healthy: dict, sick: dict, rows: np.ndarray) -> dict:
    """The hand's grades with the given rows taken from the written copy."""
    out = {k: v.copy() for k, v in healthy.items()}
    for k in out:
        out[k][rows] = sick[k][rows]
    return out


def shares(verdicts: list) -> dict:
    return {name: round(float(np.mean([v[name] for v in verdicts])), 3) for name in verdicts[0]} if verdicts else {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", nargs="+", required=True)
    add_member_args(ap)
    ap.add_argument("--prior-weights", default=None)
    ap.add_argument("--crops", required=True)
    ap.add_argument("--repeats", type=int, default=8, help="draws per hand and number of joints written")
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--ra-wrists", nargs=2, metavar=("CROPS", "LABELS"), default=None)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, prior = grader_from_args(a)

    s = read_crop_split(a.crops)
    crops = np.asarray(s.crops, np.float32) / 65535.0
    sites = s.meta[:, :N_SITES].argmax(1)
    labels = s.grades
    healthy = grades_of(probabilities_of(model, crops, s.meta))
    hands = {}
    with open(os.path.join(a.crops, "crops.jsonl")) as f:
        laterality = [json.loads(line)["laterality"] for line in f if line.strip()]
    assert len(laterality) == len(crops), "crops.jsonl and the crops disagree"
    for i, (img, lat) in enumerate(zip(s.image, laterality)):
        hands.setdefault((int(img), lat), []).append(i)
    hands = {h: np.array(rows) for h, rows in hands.items()}
    report = {"hands": len(hands), "normal": shares([said(take(healthy, r), labels[r], sites[r]) for r in hands.values()])}
    film_of = films_of(a.crops, s.image)
    report["normal_said_ra_like"] = sorted(f"{film_of[h[0]]} {h[1]}: {ra_count(take(healthy, r), labels[r], sites[r], RA_SITES)} joints"
                                           for h, r in hands.items() if said(take(healthy, r), labels[r], sites[r])["RA: 2 of MCP+wrist (shipped)"])

    rng = np.random.default_rng(a.seed)
    ra_by_k, oa_by_k = {}, {}
    for d in range(a.repeats):
        # as eval_real_disease.py draws its repeats: one generator per crop, the osteoarthritis pass at seed + 1
        seed = a.seed + 1000 * d
        ra_crops, ra_truth = written(crops, sites, labels, seed, True, wrist_jsn=True, carpal_erosion=True)
        oa_crops, oa_truth = written(crops, sites, labels, seed + 1, True, kl_share=1.0)
        ra_sick = grades_of(probabilities_of(model, ra_crops, s.meta))
        oa_sick = grades_of(probabilities_of(model, oa_crops, s.meta))
        ra_ok = ((ra_truth[:, 0] >= 2) | (ra_truth[:, 1] >= 1)) & np.isin(sites, list(RA_WRITTEN_AT))
        oa_ok = (oa_truth[:, 2] >= 2) & np.isin(sites, OA_SITES)
        for rows in hands.values():
            for k in (1, 2, 3, 4, 6):
                for ok, sick, truth, out in ((ra_ok, ra_sick, ra_truth, ra_by_k), (oa_ok, oa_sick, oa_truth, oa_by_k)):
                    can = rows[ok[rows]]
                    if len(can) < k:
                        continue
                    chosen = rng.choice(can, k, replace=False)
                    g = mix(healthy, sick, chosen)
                    lab = labels.copy()
                    lab[chosen] = np.where(truth[chosen] >= 0, truth[chosen], labels[chosen])
                    out.setdefault(k, []).append(said(take(g, rows), lab[rows], sites[rows]))
    report["ra_written_at_k_joints"] = {k: {"hands": len(v)} | shares(v) for k, v in sorted(ra_by_k.items())}
    report["oa_written_at_k_joints"] = {k: {"hands": len(v)} | shares(v) for k, v in sorted(oa_by_k.items())}

    if a.ra_wrists:
        w = read_crop_split(a.ra_wrists[0])
        wg = grades_of(probabilities_of(model, np.asarray(w.crops, np.float32) / 65535.0, w.meta))
        wsites = w.meta[:, :N_SITES].argmax(1)
        wfilm = films_of(a.ra_wrists[0], w.image)
        with open(a.ra_wrists[1]) as f:
            rows = list(csv.DictReader(f))
        erosive = {r[k]: r for r in rows for k in r if k.lower() in ("file", "filename", "image")}
        key = next(k for k in rows[0] if "eros" in k.lower())
        by = {"erosive": [], "non-erosive": []}
        for img in np.unique(w.image):
            r = np.flatnonzero(w.image == img)
            name = os.path.basename(wfilm[int(img)])
            lab = erosive.get(name) or erosive.get(os.path.splitext(name)[0])
            if lab is None:
                continue
            by["erosive" if str(lab[key]).strip() in ("1", "yes", "true", "True") else "non-erosive"].append(
                said(take(wg, r), w.grades[r], wsites[r]))
        report["ra_wrists"] = {k: {"films": len(v)} | shares(v) for k, v in by.items()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
