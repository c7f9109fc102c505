# Experiment: JSN 1-4 weights over a prior (the rejected first 0.9.1 rule, a JSN 1 weight, the kept rule), from saved draws.
#   /usr/bin/python3 models/training/experiments/jsn_grade_weights.py /tmp/jsd2/gate-cal /tmp/jsd2/gate-test   # prior /tmp/prior-0.9.0.json
import os
import sys, json, numpy as np, torch
TRAINING = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, TRAINING)
import eval_real_disease as E
from data import read_crop_split, N_SITES
from grader import load_grader
torch.set_num_threads(2)
R = TRAINING + "/runs"
m, _ = load_grader([f"{R}/grader-v12/model.pt", f"{R}/grader-v13/last.pt", f"{R}/grader-v14/last.pt"])
m.set_prior(json.load(open("/tmp/prior-0.9.0.json")))
for folder in sys.argv[1:]:
    s = read_crop_split(folder); crops = np.asarray(s.crops, np.float32) / 65535.0; sites = s.meta[:, :N_SITES].argmax(1)
    ph = E.probabilities_of(m, crops, s.meta)
    T, P = [], []
    for k in range(16):
        truth, p, _, _ = E.written_passes(m, crops, sites, s.grades, s.meta, 20261202 + 1000 * k, True)
        T.append(truth[:, 0]); P.append(p["jsn"])
    T = np.concatenate(T); P = np.concatenate(P)
    keep = T >= 0
    C = np.zeros((5, 5), int)
    for t, g in zip(T[keep], P[keep].argmax(1)): C[t, g] += 1
    h = ph["jsn"][s.grades[:, 0] >= 0].argmax(1)
    print(folder, "normals jsn grades", np.bincount(h, minlength=5))
    print(C)
    np.savez(f"/tmp/conf-{folder.split('/')[-1]}.npz", T=T, P=P, PH=ph["jsn"][s.grades[:, 0] >= 0])


# the weights of JSN 1-4 moved on top of the prior (the saved draws above), calibration and test films
d = {s: np.load(f"/tmp/conf-gate-{s}.npz") for s in ("cal", "test")}
def ev(s, dw):
    T, P, PH = d[s]["T"], d[s]["P"], d[s]["PH"]
    w = np.exp(np.r_[0.0, dw]); g = (P * w).argmax(1); gh = (PH * w).argmax(1); n = T >= 2
    return dict(exact=round((g[n] == T[n]).mean(), 3), called=round((g[n] >= 1).mean(), 3), normals=round((gh >= 1).mean(), 3), normal_grades=np.bincount(gh, minlength=5).tolist())
for dw in ([0, 0, 0, 0], [0.5, 0, 0.5, 1.5], [0, 1.25, 1.75, 2.75], [0, 0, 0.5, 1.5]):
    print(dw, {s: ev(s, dw) for s in ("cal", "test")})
