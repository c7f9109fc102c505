#!/usr/bin/env python3
"""Does a grader see the real RA wrists' carpal damage as narrowing? For each wrist crop set cut
by real_crops.mjs from ../shared/real/adult-ra-wrists (labels.csv: erosive 1 / 0), each film's
score is the largest expected JSN grade (sum k p_k) over its wrist JSN sites (CMC3-5, STT,
CSL, RC; `--score erosion`: the largest expected erosion grade over the wrist bones, STT, CSL,
RC), with the prior as exported or none; prints the AUC erosive vs non-erosive, and the
share of each film's wrist sites where real_disease.find_gap finds a joint space (a pixel
measure of a collapsed carpus, no model).

  node models/training/real_crops.mjs --out /tmp/ra-crops --list ra-list.txt --jitters 1
  /usr/bin/python3 models/training/experiments/wrist_jsn_ra.py --crops /tmp/ra-crops \
      --labels ../shared/real/adult-ra-wrists/labels.csv --ckpt RUN/last.pt [more: an ensemble] [--prior-weights P.json]
"""
import argparse
import csv
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from data import read_crop_split  # noqa: E402
from eval_real_disease import auc, films_of, probabilities_of  # noqa: E402
from grader import WRIST_JSN_SITES as WRIST, WRIST_SITES as WRIST_BONES, add_member_args, load_grader, member_ckpts  # noqa: E402
from real_disease import find_gap  # noqa: E402



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--ckpt", nargs="+", required=True)
    add_member_args(ap)
    ap.add_argument("--prior-weights", default=None)
    ap.add_argument("--score", choices=["jsn", "erosion"], default="jsn",
                    help="erosion: the largest expected erosion grade over the wrist bones (STT, CSL, RC) instead")
    a = ap.parse_args()
    sites = WRIST if a.score == "jsn" else WRIST_BONES
    label = {r["file"]: int(r["erosive"]) for r in csv.DictReader(open(a.labels))}
    s = read_crop_split(a.crops)
    film_of = films_of(a.crops, s.image)
    model, _ = load_grader(a.ckpt, **member_ckpts(a))
    if a.prior_weights:
        model.set_prior(json.load(open(a.prior_weights)))
    crops = np.asarray(s.crops, np.float32) / 65535.0
    p = probabilities_of(model, crops, s.meta)[a.score]
    expected = (p * np.arange(p.shape[1])).sum(1)
    score, gaps, called = {}, {}, {}
    for i, (img, site) in enumerate(zip(s.image, s.site)):
        if site not in sites:
            continue
        f = film_of[int(img)]
        score[f] = max(score.get(f, 0.0), float(expected[i]))
        called[f] = called.get(f, 0) + int(p[i].argmax() >= 1)
        gaps.setdefault(f, []).append(find_gap(crops[i]) is not None)
    films = sorted(score)
    y = np.array([label[f] for f in films])
    sc = np.array([score[f] for f in films])
    open_share = np.array([np.mean(gaps[f]) for f in films])
    print(json.dumps({
        "films": len(films), "erosive": int(y.sum()),
        f"auc_max_expected_wrist_{a.score}": auc(sc[y == 1], sc[y == 0]),
        "auc_share_without_a_joint_space": auc(1 - open_share[y == 1], 1 - open_share[y == 0]),
        "films_with_a_wrist_site_called": {kind: f"{sum(called[f] > 0 for f, yy in zip(films, y) if yy == v)} of {int((y == v).sum())}"
                                           for kind, v in (("erosive", 1), ("non-erosive", 0))},
        "per_film": {f: {"erosive": int(label[f]), f"max_expected_{a.score}": round(score[f], 3), "wrist_sites_called": called[f],
                         "joint_space_found": round(float(o), 2)}
                     for f, o in zip(films, open_share)},
    }, indent=1))


if __name__ == "__main__":
    main()
