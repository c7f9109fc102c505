#!/usr/bin/env python3
"""How a grader checkpoint reads real joint crops held out from training: as they are
(normal joints: how many are called mild or severe) and with disease written onto them
(real_disease.py, fixed seeds: how many narrowed to JSN >= 2 or given erosions are called
mild or severe; in a second pass, how many given osteoarthritis at KL 2-4 are called KL >= 2;
`--repeats N` writes it N times with other seeds and pools the draws). Guards against the
shortcut "real texture means healthy".

  node models/training/real_crops.mjs --out /tmp/jsd/real-heldout --list heldout.txt --jitters 1
  /usr/bin/python3 models/training/eval_real_disease.py --ckpt models/training/runs/grader-v5/last.pt \
      --crops /tmp/jsd/real-heldout

Severity classes as DESIGN.md: JSN 0 healthy, 1-2 mild, 3-4 severe; erosion >= 1 counts as
called; KL 0-1 healthy.
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
from grader import PRIOR_PARTS, WRIST_JSN_SITES, Grader, add_member_args, grader_from_args, part_of_site, wrist_row_sites  # noqa: E402
from real_disease import HINGE_SITES, SITES, find_gap, write_disease  # noqa: E402


@torch.no_grad()
def probabilities_of(model: Grader, crops: np.ndarray, meta: np.ndarray) -> dict[str, np.ndarray]:
    out = {"jsn": [], "erosion": [], "kl": []}
    for i in range(0, len(crops), 256):
        c = torch.from_numpy(crops[i:i + 256]).unsqueeze(1).float()
        m = torch.from_numpy(meta[i:i + 256])
        jsn, ero, kl, _ = model(c, m)
        for k, v in zip(out, (jsn, ero, kl)):
            out[k].append(v.numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def grades_of(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.argmax(1) for k, v in p.items()}


def auc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """P(a diseased crop scores above a normal one), ties half: the grader's separation
    whatever the operating point (the prior weights move the point, not this)."""
    if len(pos) == 0 or len(neg) == 0:
        return None
    return float((pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean())


def called(g: dict[str, np.ndarray], labels: np.ndarray) -> np.ndarray:
    """A joint is called mild or severe when any score it has is past healthy."""
    jsn = (labels[:, 0] >= 0) & (g["jsn"] >= 1)
    ero = (labels[:, 1] >= 0) & (g["erosion"] >= 1)
    kl = (labels[:, 2] >= 0) & (g["kl"] >= 2)
    return jsn | ero | kl


def written(crops, sites, labels, seed: int, per_crop: bool, **kw):
    """write_disease over the crops, one generator for all (the published figures) or, per_crop,
    one per crop seeded by (seed, crop index): then a crop's draw does not depend on the crops
    before it, and two crop sets that differ in a few crops (another joint centre) get the same
    disease written on every crop they share."""
    if not per_crop:
        return write_disease(crops, sites, labels, np.random.default_rng(seed), p=1.0, **kw)
    parts = [write_disease(crops[b:b + 1], sites[b:b + 1], labels[b:b + 1], np.random.default_rng([seed, b]), p=1.0, **kw)
             for b in range(len(crops))]
    return np.concatenate([d for d, _ in parts]), np.concatenate([t for _, t in parts])


def averaged(model: Grader, pairs, meta) -> dict[str, np.ndarray]:
    """The grader's probabilities on crops, or averaged over two crop sets of the same joints (--paired-crops)."""
    ps = [probabilities_of(model, c, meta) for c in pairs]
    return {k: sum(p[k] for p in ps) / len(ps) for k in ps[0]}


def written_passes(model: Grader, crops, sites, labels, meta, seed: int, per_crop: bool = False, wrist_jsn: bool = False, paired=None):
    """Disease written onto every crop (seed), and osteoarthritis apart (seed + 1: the pass above
    writes none; KL 2-4 where a spur could be drawn): truth and probabilities of each pass, the
    osteoarthritis pass only where it wrote KL. wrist_jsn: narrowing written at the wrist's JSN
    sites too (a draw of its own: the other crops' draws change with it)."""
    drawn, truth = written(crops, sites, labels, seed, per_crop, wrist_jsn=wrist_jsn)
    drawn_oa, truth_oa = written(crops, sites, labels, seed + 1, per_crop, kl_share=1.0)
    with_oa = truth_oa[:, 2] >= 2
    if paired is None:
        return truth, probabilities_of(model, drawn, meta), truth_oa[with_oa], probabilities_of(model, drawn_oa[with_oa], meta[with_oa])
    # the same draws (per crop seeds) written on the second set's crops of the same joints
    drawn2, truth2 = written(paired, sites, labels, seed, per_crop, wrist_jsn=wrist_jsn)
    drawn2_oa, _ = written(paired, sites, labels, seed + 1, per_crop, kl_share=1.0)
    print(f"paired draws with another truth: {int((truth2 != truth).any(1).sum())} of {len(truth)}", file=sys.stderr)
    return (truth, averaged(model, [drawn, drawn2], meta), truth_oa[with_oa],
            averaged(model, [drawn_oa[with_oa], drawn2_oa[with_oa]], meta[with_oa]))


def pooled(parts):
    """Arrays, or dicts of arrays, of several passes stacked along the first axis."""
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True, nargs="+", help="a grader checkpoint; several: their ensemble (grader.GraderEnsemble)")
    add_member_args(ap)
    ap.add_argument("--crops", required=True)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--repeats", type=int, default=1, help="disease written this many times with other seeds, pooled")
    ap.add_argument("--prior-weights", default=None, help="calibrate_prior.py's JSON, applied as the export applies it")
    ap.add_argument("--per-crop", action="store_true",
                    help="seed each crop's draw by (seed, crop index), to compare crop sets cut at other joint centres")
    ap.add_argument("--wrist-jsn", action="store_true",
                    help="write narrowing at the wrist's JSN sites too (CMC3-5, STT, CSL, RC), reported as narrowing_called_by_joint's 'wrist'")
    ap.add_argument("--paired-crops", default=None,
                    help="crops of the same joints cut at a second reading (real_crops.mjs --moved-by): probabilities averaged over both")
    args = ap.parse_args()
    assert args.paired_crops is None or args.per_crop, "--paired-crops needs --per-crop (the same draw on both crops of a joint)"
    torch.set_num_threads(2)
    model, prior = grader_from_args(args)
    s = read_crop_split(args.crops)
    crops = np.asarray(s.crops, np.float32) / 65535.0
    labels = s.grades
    paired = None
    if args.paired_crops:
        s2 = read_crop_split(args.paired_crops)
        assert len(s2.crops) == len(crops), "the paired set holds other joints"
        paired = np.asarray(s2.crops, np.float32) / 65535.0
    p_healthy = averaged(model, [crops] + ([paired] if paired is not None else []), s.meta)
    healthy = grades_of(p_healthy)
    sites = s.meta[:, :N_SITES].argmax(1)
    # disease written --repeats times, each with its own seeds (the first: --seed, as before), pooled:
    # with a few dozen joints per kind a single draw moves a share by several points
    draws = [written_passes(model, crops, sites, labels, s.meta, args.seed + 1000 * k, args.per_crop, args.wrist_jsn, paired)
             for k in range(args.repeats)]
    truth, p_sick, truth_oa, p_oa = (pooled([d[i] for d in draws]) for i in range(4))
    sick = grades_of(p_sick)
    with_oa = truth_oa[:, 2] >= 2
    narrowed = truth[:, 0] >= 2
    eroded = truth[:, 1] >= 1
    report = {
        "crops": int(len(crops)),
        "healthy_called_mild_or_severe": float(called(healthy, labels).mean()),
        "healthy_called_by_score": {
            "jsn": float((healthy["jsn"][labels[:, 0] >= 0] >= 1).mean()),
            "erosion": float((healthy["erosion"][labels[:, 1] >= 0] >= 1).mean()),
            "kl": float((healthy["kl"][labels[:, 2] >= 0] >= 2).mean()),
        },
        "narrowed_jsn2plus": int(narrowed.sum()),
        "narrowed_jsn2plus_called_mild_or_severe": float((sick["jsn"][narrowed] >= 1).mean()) if narrowed.any() else None,
        "narrowed_exact_jsn": float((sick["jsn"][narrowed] == truth[narrowed, 0]).mean()) if narrowed.any() else None,
        # issue 9's "within one grade": a written JSN 2-4 read within one grade; a normal joint read JSN 2 or more is not
        "narrowed_jsn_within_one": float((abs(sick["jsn"][narrowed] - truth[narrowed, 0]) <= 1).mean()) if narrowed.any() else None,
        "healthy_jsn_within_one": float((healthy["jsn"][labels[:, 0] >= 0] <= 1).mean()),
        "eroded": int(eroded.sum()),
        "eroded_called": float((sick["erosion"][eroded] >= 1).mean()) if eroded.any() else None,
        "osteoarthritis_kl2plus": int(with_oa.sum()),
        "osteoarthritis_called": float((p_oa["kl"].argmax(1) >= 2).mean()) if with_oa.any() else None,
        "auc_osteoarthritis_vs_normal": auc(p_oa["kl"][:, 2:].sum(1), p_healthy["kl"][labels[:, 2] >= 0, 2:].sum(1)),
        "auc_narrowed_vs_normal": auc(1 - p_sick["jsn"][narrowed, 0], 1 - p_healthy["jsn"][labels[:, 0] >= 0, 0]),
        "auc_eroded_vs_normal": auc(1 - p_sick["erosion"][eroded, 0], 1 - p_healthy["erosion"][labels[:, 1] >= 0, 0]),
    }
    # by prior part (grader.PRIOR_PARTS): the finger joints, the wrist bones (STT, CSL, RC crops:
    # erosions drawn differently, real_disease.erode_carpal) and the thumb's joints (IP1, MCP1,
    # CMC1: their own prior weights since 0.6.1)
    # the site of every written row (the draws are stacked, each over all crops)
    sites_k = np.tile(sites, args.repeats)
    row = wrist_row_sites(prior)
    part_of, part_of_k = part_of_site(sites, row), part_of_site(sites_k, row)
    report["erosion_by_part"] = {}
    for part in PRIOR_PARTS:
        where = part_of == part
        scored = where & (labels[:, 1] >= 0)
        ero = (part_of_k == part) & eroded
        report["erosion_by_part"][part] = {
            "normal": int(scored.sum()),
            "normal_called": float((healthy["erosion"][scored] >= 1).mean()) if scored.any() else None,
            "eroded": int(ero.sum()),
            "eroded_called": float((sick["erosion"][ero] >= 1).mean()) if ero.any() else None,
            "auc": auc(1 - p_sick["erosion"][ero, 0], 1 - p_healthy["erosion"][scored, 0]),
        }
    # written narrowing called, by the grade written and by kind of joint (the thumb's MCP1
    # apart: on a PA film it lies half in profile)
    report["narrowing_called_by_grade"] = share_called(sick["jsn"], narrowed, {g: truth[:, 0] == g for g in (2, 3, 4)})
    report["narrowing_called_by_joint"] = share_called(sick["jsn"], narrowed, {
        kind: np.isin(sites_k, [SITES.index(f"{kind}{d}") for d in digits]) for kind, digits in (("MCP", "2345"), ("PIP", "2345"))
    } | {"MCP1": sites_k == SITES.index("MCP1"), "wrist": np.isin(sites_k, WRIST_JSN_SITES)})
    # the normal wrist JSN crops called narrowed, and which: what a grader that learnt wrist narrowing risks
    at_wrist = np.isin(sites, WRIST_JSN_SITES) & (labels[:, 0] >= 0)
    film_of = films_of(args.crops, s.image)
    report["healthy_wrist_jsn_called"] = {
        "normal": int(at_wrist.sum()),
        "called": float((healthy["jsn"][at_wrist] >= 1).mean()) if at_wrist.any() else None,
        "which": [f"{film_of[int(s.image[i])]} {SITES[sites[i]]} JSN {healthy['jsn'][i]}"
                  for i in np.flatnonzero(at_wrist & (healthy["jsn"] >= 1))],
        "auc_narrowed_vs_normal": auc(1 - p_sick["jsn"][narrowed & np.isin(sites_k, WRIST_JSN_SITES), 0],
                                      1 - p_healthy["jsn"][at_wrist, 0])}
    # by the width of the band the writer took for the joint space (real_disease.find_gap, rows of
    # 0.16 mm): a band of 8 rows or more (1.3 mm+) is often a shaft beside the joint, a physis or a
    # marker, where a JSN 2 cut leaves a normal-looking space (docs/evaluation.md, "Where the
    # written narrowing is missed")
    band = np.tile([(find_gap(c) or (0, 0))[1] if site in HINGE_SITES else 0 for c, site in zip(crops, sites)], args.repeats)
    report["narrowing_called_by_band"] = share_called(sick["jsn"], narrowed, {"rows 2-7": (band >= 2) & (band <= 7), "rows 8+": band >= 8})
    # and by film: where a film's joints hide written narrowing (an oblique read as PA, a wrist film), its share says so
    report["narrowing_called_by_film"] = share_called(sick["jsn"], narrowed, {
        film: np.tile(s.image, args.repeats) == image for image, film in films_of(args.crops, s.image).items()})
    print(json.dumps(report, indent=1))


def films_of(folder: str, image: np.ndarray) -> dict:
    """Crop set's image index -> film file name: meta.json's `films` carry their index since
    2026-12-05; older sets list the films with crops in the order of their indices."""
    with open(os.path.join(folder, "meta.json")) as f:
        films = json.load(f).get("films", [])
    images = np.unique(image).tolist()
    if all("image" in film for film in films):
        return {film["image"]: film["file"] for film in films if film["image"] in images}
    return dict(zip(images, [film["file"] for film in films])) if len(films) == len(images) else {i: f"image {i}" for i in images}


def share_called(jsn: np.ndarray, narrowed: np.ndarray, groups: dict) -> dict:
    """Per group: the written JSN >= 2 joints in it, and the share of them called (JSN >= 1)."""
    out = {}
    for name, where in groups.items():
        sel = narrowed & where
        out[str(name)] = {"narrowed": int(sel.sum()), "called": float((jsn[sel] >= 1).mean()) if sel.any() else None}
    return out


if __name__ == "__main__":
    main()
