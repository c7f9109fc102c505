"""What the 2026-12-05 experiments on grader 0.9.x share: its three members as one ensemble (with
a prior, where given), a held-out crop set as floats, and the written-disease draws
eval_real_disease.py makes (--per-crop, its seeds). Imported by the scripts beside it."""
import json
import os
import sys

import numpy as np

TRAINING = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, TRAINING)
import eval_real_disease as E  # noqa: E402
from data import N_SITES, read_crop_split  # noqa: E402
from grader import load_grader  # noqa: E402

RUNS = os.path.join(TRAINING, "runs")
MEMBERS = [f"{RUNS}/grader-v12/model.pt", f"{RUNS}/grader-v13/last.pt", f"{RUNS}/grader-v14/last.pt"]


def ensemble(prior: str | None = None):
    """Grader 0.9.x's networks as one (grader.GraderEnsemble), with calibrate_prior.py's weights if given."""
    model, _ = load_grader(MEMBERS)
    if prior:
        model.set_prior(json.load(open(prior)))
    return model


def crop_set(folder: str):
    """A real_crops.mjs set: the split, its crops in [0, 1] and each crop's site index."""
    s = read_crop_split(folder)
    return s, np.asarray(s.crops, np.float32) / 65535.0, s.meta[:, :N_SITES].argmax(1)


def draws(model, s, crops, sites, n: int = 16, seed: int = 20261202):
    """n draws of disease written per crop, as eval_real_disease.py --per-crop: (truth, probabilities) each."""
    return [E.written_passes(model, crops, sites, s.grades, s.meta, seed + 1000 * k, True)[:2] for k in range(n)]
