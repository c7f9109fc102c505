#!/usr/bin/env python3
"""Whether a joint's call read against the other joints of its own film separates written disease
from normal joints better than the call alone. A reader judges a joint space against the hand's
other joints; a film whose processing makes every joint look narrowed (or eroded) would then be
called less. For each crop: s = logit of P(score past healthy) after the prior; the film's median
of s over its clean crops of the same part (fingers, thumb, wrist) is m_f; the shifted score is
s - beta * (m_f - M), M the median of the films' medians. Disease is written onto one crop at a
time (eval_real_disease.written), so its film's median is the clean one: the case of focal
disease. Diffuse disease (RA's symmetric narrowing) raises m_f itself; `--ra-wrists` measures that
side: the RA wrists' erosion AUC (erosive against non-erosive films) with the wrist crops shifted
by their own film's median.

  R=models/training/runs; M="$R/grader-v12/model.pt $R/grader-v13/last.pt $R/grader-v14/last.pt"
  W="--wrist-jsn-ckpt $R/grader-v22/last.pt --wrist-erosion-ckpt $R/grader-v21/last.pt"
  /usr/bin/python3 models/training/experiments/film_relative.py --ckpt $M $W --prior-weights /tmp/jsd/prior.json \
      --crops /tmp/jsd/gate-test --repeats 8
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from data import N_SITES, read_crop_split  # noqa: E402
from eval_real_disease import auc, pooled, probabilities_of, written_passes  # noqa: E402
from grader import add_member_args, grader_from_args, part_of_site, wrist_row_sites  # noqa: E402

SCORES = {"jsn": 0, "erosion": 1}


def logit_past_healthy(p: np.ndarray) -> np.ndarray:
    q = np.clip(1.0 - p[:, 0], 1e-6, 1 - 1e-6)
    return np.log(q) - np.log1p(-q)


def film_medians(s, image, part, scored):
    """(image, part) -> median of s over the scored crops there"""
    out = {}
    for key in set(zip(image[scored].tolist(), part[scored].tolist())):
        sel = scored & (image == key[0]) & (part == key[1])
        out[key] = float(np.median(s[sel]))
    return out


def shifted(s, image, part, medians, centre, beta):
    m = np.array([medians.get((i, p), centre.get(p, 0.0)) for i, p in zip(image.tolist(), part.tolist())])
    c = np.array([centre.get(p, 0.0) for p in part.tolist()])
    return s - beta * (m - c)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True, nargs="+")
    add_member_args(ap)
    ap.add_argument("--crops", required=True)
    ap.add_argument("--prior-weights", default=None)
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--betas", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, prior = grader_from_args(args)
    s = read_crop_split(args.crops)
    crops = np.asarray(s.crops, np.float32) / 65535.0
    labels = s.grades
    sites = s.meta[:, :N_SITES].argmax(1)
    part = part_of_site(sites, wrist_row_sites(prior))
    image = np.asarray(s.image)
    clean = probabilities_of(model, crops, s.meta)
    draws = [written_passes(model, crops, sites, labels, s.meta, args.seed + 1000 * k, True) for k in range(args.repeats)]
    truth, p_sick = pooled([d[0] for d in draws]), pooled([d[1] for d in draws])
    image_k, part_k = np.tile(image, args.repeats), np.tile(part, args.repeats)
    report = {}
    for name, col in SCORES.items():
        scored = labels[:, col] >= 0
        sc = logit_past_healthy(clean[name])
        ss = logit_past_healthy(p_sick[name])
        sick = truth[:, col] >= (2 if name == "jsn" else 1)
        medians = film_medians(sc, image, part, scored)
        centre = {p: float(np.median([v for (i, q), v in medians.items() if q == p])) for p in set(part.tolist())}
        # the shipped operating point: called past healthy when P(healthy) is not the argmax... use the
        # shipped normal share and hold it: the threshold on each shifted score that calls as many normals
        base_called = float((clean[name].argmax(1)[scored] >= 1).mean())
        rows = {}
        for beta in args.betas:
            a = shifted(sc, image, part, medians, centre, beta)[scored]
            b = shifted(ss, image_k, part_k, medians, centre, beta)[sick]
            t = np.quantile(a, 1.0 - base_called)
            rows[str(beta)] = {"auc": auc(b, a), "normal_called": float((a > t).mean()), "written_called": float((b > t).mean())}
        report[name] = {"normal": int(scored.sum()), "written": int(sick.sum()), "shipped_normal_called": base_called,
                        "shipped_written_called": float((p_sick[name].argmax(1)[sick] >= 1).mean()), "by_beta": rows}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
