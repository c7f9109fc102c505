# Experiment (not kept): weights on erosion grades 1-5 over grader 0.9.1's prior, chosen on the calibration films.
#   /usr/bin/python3 models/training/experiments/erosion_grade_weights.py   # needs /tmp/prior-0.9.1.json (models/training/README.md)
import numpy as np, torch, itertools
from grader_090 import crop_set, draws, ensemble
import eval_real_disease as E
from grader import part_of_site
torch.set_num_threads(2)
m = ensemble("/tmp/prior-0.9.1.json")
D = {}
for name in ("cal", "test"):
    s, crops, sites = crop_set(f"/tmp/jsd2/gate-{name}")
    ph = E.probabilities_of(m, crops, s.meta)
    drawn = draws(m, s, crops, sites)
    scored = s.grades[:, 1] >= 0
    D[name] = dict(T=np.concatenate([truth[:, 1] for truth, _ in drawn]), P=np.concatenate([p["erosion"] for _, p in drawn]), part=np.tile(part_of_site(sites), len(drawn)), PH=ph["erosion"][scored], parth=part_of_site(sites)[scored],
                   other=((ph["jsn"].argmax(1) >= 1) & (s.grades[:, 0] >= 0)) | ((ph["kl"].argmax(1) >= 2) & (s.grades[:, 2] >= 0)), scored=scored)
def ev(name, dw):
    d = D[name]; w = np.exp(np.r_[0.0, dw])
    g = (d["P"] * w).argmax(1); gh = (d["PH"] * w).argmax(1)
    e = d["T"] >= 1
    anyc = d["other"].copy(); anyc[d["scored"]] |= gh >= 1
    return dict(called=(g[e] >= 1).mean(), exact=(g[e] == d["T"][e]).mean(), normals=(gh >= 1).mean(), anyNormals=anyc.mean(), thumb=(g[e & (d["part"] == "thumb")] >= 1).mean() if False else None)
base = ev("cal", [0] * 5)
print("cal", base, "\ntest", ev("test", [0] * 5))
g = np.arange(-1, 3.01, 0.5)
ok = []
for ws in itertools.product([0.0], g, g, g, g):
    r = ev("cal", list(ws))
    if r["anyNormals"] <= base["anyNormals"] + 1e-9:
        ok.append((r["called"], ws, r))
ok.sort(key=lambda o: -o[0])
for o in ok[:5]: print(o[1], {k: round(v, 3) for k, v in o[2].items() if v is not None}, "test", {k: round(v, 3) for k, v in ev("test", list(o[1])).items() if v is not None})
