"""Experiment (not kept): JSN grade weights re-chosen for within-one-grade agreement. Saves the finger and thumb
crops' JSN probabilities (normal, and with narrowing written; calibration films first, test films second), then
re-weights them post hoc (exp(dw) per grade 1-4, renormalised: the same as other log weights in the export) over a
grid, keeping the weights that call no more normal and no fewer written calibration joints, exact agreement no lower.
  /usr/bin/python3 models/training/experiments/jsn_weights_within_one.py --ckpt $M $W --crops /tmp/g-cal /tmp/g-test \
      --prior-weights /tmp/prior-0.10.1.json --repeats 16 --out /tmp/jsnw.npy
"""
import sys, os, json, argparse, itertools
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import numpy as np, torch
from data import N_SITES, read_crop_split
from grader import add_member_args, grader_from_args, WRIST_JSN_SITES
import eval_real_disease as E
ap = argparse.ArgumentParser(); ap.add_argument('--ckpt', nargs='+'); add_member_args(ap); ap.add_argument('--crops', nargs='+'); ap.add_argument('--prior-weights'); ap.add_argument('--repeats', type=int, default=16); ap.add_argument('--out', default='/tmp/jsnw.npy')
a = ap.parse_args(); torch.set_num_threads(2)
model, prior = grader_from_args(a)
out = {}
for cr in a.crops:
    s = read_crop_split(cr); crops = np.asarray(s.crops, np.float32) / 65535.0; labels = s.grades
    sites = s.meta[:, :N_SITES].argmax(1)
    fing = ~np.isin(sites, WRIST_JSN_SITES)
    ok = (labels[:, 0] >= 0) & fing
    ph = E.probabilities_of(model, crops, s.meta)['jsn'][ok]
    draws = [E.written_passes(model, crops, sites, labels, s.meta, 20261202 + 1000 * k, True, False) for k in range(a.repeats)]
    truth = np.concatenate([d[0] for d in draws]); ps = np.concatenate([d[1]['jsn'] for d in draws])
    nar = truth[:, 0] >= 2
    out[cr] = (ph, ps[nar], truth[nar, 0])
np.save(a.out, np.array([out[c] for c in a.crops], dtype=object), allow_pickle=True)
import itertools
d = np.array([out[c] for c in a.crops], dtype=object)
def stats(ph, pw, tw, dw):
    f = np.exp(np.array([0.0] + list(dw)))
    h = (ph * f).argmax(1); w = (pw * f).argmax(1)
    return dict(nc=np.mean(h >= 1), nw=np.mean(h <= 1), wc=np.mean(w >= 1), we=np.mean(w == tw), ww=np.mean(abs(w - tw) <= 1),
                me=0.76 * np.mean(h == 0) + 0.24 * np.mean(w == tw), mw=0.76 * np.mean(h <= 1) + 0.24 * np.mean(abs(w - tw) <= 1))
cal, test = d[0], d[1]
base_c, base_t = stats(*cal, (0, 0, 0, 0)), stats(*test, (0, 0, 0, 0))
fmt = lambda s: ' '.join(f'{k} {v:.3f}' for k, v in s.items())
print('base cal ', fmt(base_c)); print('base test', fmt(base_t))
grid = [-1.5, -1, -0.5, 0, 0.5, 1]
res = []
for dw in itertools.product(grid, repeat=4):
    s = stats(*cal, dw)
    if s['nc'] <= base_c['nc'] + 1e-9 and s['wc'] >= base_c['wc'] - 1e-9 and s['me'] >= base_c['me'] - 1e-9:
        res.append((s['mw'], dw, s))
res.sort(key=lambda r: -r[0])
for mw, dw, s in res[:8]:
    print(dw, 'cal', fmt(s)); print('      test', fmt(stats(*test, dw)))

