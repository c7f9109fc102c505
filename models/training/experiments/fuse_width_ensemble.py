# Experiment (not kept): fuse_width_jsn.py's fit with the ensemble's mean JSN logit and 0.8.1's width head.
#   /usr/bin/python3 models/training/experiments/fuse_width_ensemble.py /tmp/jsd2/real-train   # held-out: /tmp/jsd2/gate-cal, gate-test
import os, sys, numpy as np, torch
TRAINING = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, TRAINING)
from grader_090 import ensemble  # noqa: E402
from data import read_crop_split
from grader import SCALES
from real_disease import HINGE_SITES, joint_groups, write_disease
torch.set_num_threads(2)
ens = ensemble()
@torch.no_grad()
def lw(crops, meta):
    L, W = [], []
    for i in range(0, len(crops), 256):
        c = torch.from_numpy(crops[i:i+256]).unsqueeze(1).float(); m = torch.from_numpy(meta[i:i+256])
        hs = [mm.features(c, m) for mm in ens.members]
        L.append(torch.stack([mm.cum_logits(h, m)["jsn"][:, 0] for mm, h in zip(ens.members, hs)]).mean(0).numpy())
        W.append(ens.members[0].width(hs[0])[:, 0].numpy())
    return np.concatenate(L), np.concatenate(W)
def nn_(folder, seed, reps):
    s = read_crop_split(folder); crops = np.asarray(s.crops, np.float32) / 65535.0
    sites = s.meta[:, :-2].argmax(1); keep = (s.grades[:, 0] >= 0) & np.isin(sites, list(HINGE_SITES))
    crops, sites, grades, meta = crops[keep], sites[keep], s.grades[keep], s.meta[keep]
    l0, w0 = lw(crops, meta); rows = joint_groups(sites)
    L1, W1, R1, G1 = [], [], [], []
    for k in range(reps):
        parts = [write_disease(crops[b:b+1], sites[b:b+1], grades[b:b+1], np.random.default_rng([seed + 1000 * k, b]), p=1.0) for b in range(len(crops))]
        drawn = np.concatenate([d for d, _ in parts]); truth = np.concatenate([t for _, t in parts])
        l1, w1 = lw(drawn, meta); n = truth[:, 0] >= 2
        L1.append(l1[n]); W1.append(w1[n]); R1.append(rows[n]); G1.append(truth[n, 0])
    return dict(l0=l0, w0=w0, r0=rows, l1=np.concatenate(L1), w1=np.concatenate(W1), r1=np.concatenate(R1), g1=np.concatenate(G1))
tr = nn_(sys.argv[1], 7, 2)
nw = {g: np.median(tr["w0"][tr["r0"] == g]) for g in set(tr["r0"])}
def f(d, k): return np.stack([d["l"+k], np.log(np.maximum(d["w"+k], 0.02) / np.array([nw[g] for g in d["r"+k]]))], 1)
x = torch.tensor(np.concatenate([f(tr, "0"), f(tr, "1")]), dtype=torch.float32)
y = torch.tensor(np.r_[np.zeros(len(tr["l0"])), np.ones(len(tr["l1"]))], dtype=torch.float32)
wb = torch.zeros(3, requires_grad=True); opt = torch.optim.LBFGS([wb], max_iter=200)
def cl():
    opt.zero_grad(); l = torch.nn.functional.binary_cross_entropy_with_logits(x @ wb[:2] + wb[2], y); l.backward(); return l
opt.step(cl); a, b, _ = wb.detach().numpy(); print("fit", a, b, len(tr["l0"]), len(tr["l1"]))
cal = nn_("/tmp/jsd2/gate-cal", 20261202, 8); test = nn_("/tmp/jsd2/gate-test", 20261202, 8)
def auc(p, n): return float((p[:, None] > n[None]).mean() + 0.5 * (p[:, None] == n[None]).mean())
for name, sc in {"logit": lambda d, k: d["l"+k], "fused": lambda d, k: f(d, k) @ np.array([1.0, b / a]), "width": lambda d, k: -f(d, k)[:, 1]}.items():
    out = [name, "AUC cal %.3f test %.3f" % (auc(sc(cal, "1"), sc(cal, "0")), auc(sc(test, "1"), sc(test, "0")))]
    for share in (0.05, 0.08):
        t = np.quantile(sc(cal, "0"), 1 - share)
        out.append(f"@{share}: test normals {np.mean(sc(test,'0')>t):.3f} written {np.mean(sc(test,'1')>t):.3f} jsn2 {np.mean(sc(test,'1')[test['g1']==2]>t):.3f}")
    print(" | ".join(out))
