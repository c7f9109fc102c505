# Experiment (not kept): the JSN and erosion heads refitted on the three members' features together.
#   /usr/bin/python3 models/training/experiments/stacked_head_refit.py <lr 1e-3> <pull to start 1.0>   # also 3e-3 0.0
import os
"""Experiment: refit the ensemble's JSN and erosion score weights on the members' concatenated features."""
import sys, json, numpy as np, torch, torch.nn.functional as F
TRAINING = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, TRAINING)
from grader_090 import ensemble  # noqa: E402
import eval_real_disease as E
from data import read_crop_split, N_SITES
from grader import OrdinalHead, wrist_of
from real_disease import write_disease
torch.set_num_threads(2)
ens = ensemble()
M = ens.members
@torch.no_grad()
def feats(crops, meta):
    out = []
    for i in range(0, len(crops), 256):
        c = torch.from_numpy(np.ascontiguousarray(crops[i:i+256])).unsqueeze(1).float(); m = torch.from_numpy(meta[i:i+256])
        hs = [mm.features(c, m) for mm in M]
        wr = torch.stack([wrist_of(m) * mm.wrist_erosion(h) for mm, h in zip(M, hs)]).mean(0)
        out.append(torch.cat(hs + [wr], 1))
    return torch.cat(out)
def load(folder, n=None, seed=0):
    s = read_crop_split(folder); idx = np.arange(len(s.site))
    if n and n < len(idx): idx = np.sort(np.random.default_rng(seed).choice(idx, n, replace=False))
    return np.asarray(s.crops[idx], np.float32) / 65535.0, s.meta[idx], s.grades[idx]
# training set: real training crops, clean and with disease written (4 draws), phantom crops
rc, rm, rg = load("/tmp/jsd2/real-train")
X, Y = [feats(rc, rm)], [rg.copy()]
sites = rm[:, :N_SITES].argmax(1)
for k in range(4):
    d, t = write_disease(rc, sites, rg, np.random.default_rng(100 + k), p=1.0)
    X.append(feats(d, rm)); Y.append(t)
pc, pm, pg = load("/tmp/jsd/train-a", 6000, 1)
X.append(feats(pc, pm)); Y.append(pg)
X = torch.cat(X); Y = torch.from_numpy(np.concatenate(Y))
isreal = torch.zeros(len(X), dtype=torch.bool); isreal[:len(X) - len(pg)] = True
print("train rows", len(X), "real", int(isreal.sum()), flush=True)
H = 192
def init_head(name):
    W = torch.cat([mm.heads[name].score.weight.data / 3 for mm in M], 1)  # [1, 576]
    b = sum(mm.heads[name].score.bias.data for mm in M) / 3
    th = torch.stack([torch.cat([mm.heads[name].t0.data.view(1), mm.heads[name].t0.data + torch.cumsum(F.softplus(mm.heads[name].gaps.data) + 0.05, 0)]) for mm in M]).mean(0)
    return W.clone(), b.clone(), th.clone()
def cum(X, W, b, th, wr=False):
    z = X[:, :3 * H] @ W.T + b - th.view(1, -1)
    return z + (X[:, 3 * H:] if wr else 0)
def coral(z, y):
    m = y >= 0
    z, y = z[m], y[m]
    tgt = (y.view(-1, 1) > torch.arange(z.shape[1]).view(1, -1)).float()
    return F.binary_cross_entropy_with_logits(z, tgt, reduction="none").sum(1)
params = {}
for name, col in (("jsn", 0), ("erosion", 1)):
    W0, b0, th0 = init_head(name)
    W = W0.clone().requires_grad_(); b = b0.clone().requires_grad_(); th = th0.clone().requires_grad_()
    opt = torch.optim.Adam([W, b, th], lr=float(sys.argv[1]) if len(sys.argv) > 1 else 1e-3)
    lam = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    y = Y[:, col]
    wts = torch.where(isreal, torch.tensor(1.0), torch.tensor(0.5))
    for ep in range(300):
        opt.zero_grad()
        z = cum(X, W, b, th, name == "erosion")
        m = y >= 0
        l = (coral(z, y) * wts[m]).sum() / wts[m].sum() + lam * ((W - W0) ** 2).sum()
        l.backward(); opt.step()
    print(name, "loss", float(l), "dW", float((W - W0).norm() / W0.norm()), flush=True)
    params[name] = (W.detach(), b.detach(), th.detach(), (W0, b0, th0))
torch.save(params, "/tmp/refit.pt")
# held-out evaluation: AUC written vs normal for old and new heads
def auc(p, n): return float((p[:, None] > n[None]).mean() + 0.5 * (p[:, None] == n[None]).mean())
for name in ("cal", "test"):
    c, m, g = load(f"/tmp/jsd2/gate-{name}")
    s_ = m[:, :N_SITES].argmax(1)
    X0 = feats(c, m); Xs, Ts = [], []
    for k in range(8):
        parts = [write_disease(c[i:i+1], s_[i:i+1], g[i:i+1], np.random.default_rng([20261202 + 1000 * k, i]), p=1.0) for i in range(len(c))]
        Xs.append(feats(np.concatenate([d for d, _ in parts]), m)); Ts.append(np.concatenate([t for _, t in parts]))
    Xs = torch.cat(Xs); Ts = np.concatenate(Ts)
    out = [name]
    for score, col, thr in (("jsn", 0, 2), ("erosion", 1, 1)):
        W, b, th, (W0, b0, th0) = params[score]
        for tag, (w_, b_, t_) in (("old", (W0, b0, th0)), ("new", (W, b, th))):
            zp = cum(Xs, w_, b_, t_, score == "erosion")[:, 0].numpy(); zn = cum(X0, w_, b_, t_, score == "erosion")[:, 0].numpy()
            pos = zp[Ts[:, col] >= thr]; neg = zn[g[:, col] >= 0]
            out.append(f"{score} {tag} AUC {auc(pos, neg):.4f}")
    print(" | ".join(out), flush=True)
