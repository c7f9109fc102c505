#!/usr/bin/env python3
"""The real-crop side of the uncertain-grade experiment (models/training/README.md, "Abstaining
on an unsure healthy-or-diseased call"): grader 0.6.0 on the held-out real crops, a joint left
ungraded when, for any score it has, neither P(healthy) nor P(diseased) reaches the bound.
Prints coverage and the shares called for normal, narrowed and eroded crops per bound.

  cd models/training && /usr/bin/python3 experiments/uncertain_grade_real.py /tmp/jsd/real-test /tmp/jsd/real-cal
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from data import N_SITES, read_crop_split  # noqa: E402
from eval_real_disease import called, grades_of, probabilities_of  # noqa: E402
from grader import Grader  # noqa: E402
from real_disease import write_disease  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def surest(p: dict, labels: np.ndarray) -> np.ndarray:
    """Per crop, the least sure of its scores' healthy-or-diseased calls."""
    healthy = {"jsn": p["jsn"][:, 0], "erosion": p["erosion"][:, 0], "kl": p["kl"][:, 0] + p["kl"][:, 1]}
    out = np.ones(len(labels))
    for col, k in enumerate(["jsn", "erosion", "kl"]):
        out = np.where(labels[:, col] >= 0, np.minimum(out, np.maximum(healthy[k], 1 - healthy[k])), out)
    return out


def main() -> None:
    torch.set_num_threads(2)
    m = Grader(1.0)
    m.load_state_dict(torch.load(os.path.join(HERE, "runs/grader-v6/last.pt"), map_location="cpu")["model"])
    m.eval()
    m.set_prior(json.load(open(os.path.join(HERE, "runs/grader-v6/prior.json"))))
    for folder in sys.argv[1:]:
        s = read_crop_split(folder)
        crops, labels = np.asarray(s.crops, np.float32) / 65535.0, s.grades
        ph = probabilities_of(m, crops, s.meta)
        drawn, truth = write_disease(crops, s.meta[:, :N_SITES].argmax(1), labels, np.random.default_rng(20261202), p=1.0)
        ps = probabilities_of(m, drawn, s.meta)
        sure_h, sure_s, gh, gs = surest(ph, labels), surest(ps, labels), grades_of(ph), grades_of(ps)
        narrowed, eroded = truth[:, 0] >= 2, truth[:, 1] >= 1
        for bound in [0, 0.6, 0.65, 0.7, 0.75, 0.8]:
            kh, ks = sure_h >= bound, sure_s >= bound
            print(f"{os.path.basename(folder)} bound {bound}: normal coverage {kh.mean():.3f} called {called(gh, labels)[kh].mean():.3f} | "
                  f"narrowed coverage {ks[narrowed].mean():.3f} called {(gs['jsn'][narrowed & ks] >= 1).mean():.3f} | "
                  f"eroded coverage {ks[eroded].mean():.3f} called {(gs['erosion'][eroded & ks] >= 1).mean():.3f}")


if __name__ == "__main__":
    main()
