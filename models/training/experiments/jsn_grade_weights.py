# Experiment: JSN 1-4 weights over a prior (the rejected first 0.9.1 rule, a JSN 1 weight, the kept rule), from saved draws.
#   /usr/bin/python3 models/training/experiments/jsn_grade_weights.py /tmp/jsd2/gate-cal /tmp/jsd2/gate-test   # prior /tmp/prior-0.9.0.json
import sys, numpy as np, torch
from grader_090 import crop_set, draws, ensemble
import eval_real_disease as E
torch.set_num_threads(2)
m = ensemble("/tmp/prior-0.9.0.json")
for folder in sys.argv[1:]:
    s, crops, sites = crop_set(folder)
    ph = E.probabilities_of(m, crops, s.meta)
    drawn = draws(m, s, crops, sites)
    T = np.concatenate([truth[:, 0] for truth, _ in drawn]); P = np.concatenate([p["jsn"] for _, p in drawn])
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
