"""Experiment (not kept): the JSN grade read from the grader's probabilities other ways than argmax, on held-out
real crops as they are (normal) and with narrowing written (eval_real_disease.py's draws): exact and within-one-grade
agreement, and a mix weighted as the expert-scored RA films are (76 % of JSN scores 0). The "win3" rule is shown
for completeness; it never reads 0 and is no candidate. Run from the project root:
  /usr/bin/python3 models/training/experiments/jsn_decoding.py --ckpt $M $W --crops /tmp/g-test \
      --prior-weights /tmp/prior-0.10.1.json --repeats 16
"""
import sys, os, json, argparse
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import numpy as np, torch
from data import N_SITES, read_crop_split
from grader import add_member_args, grader_from_args
import eval_real_disease as E
ap = argparse.ArgumentParser(); ap.add_argument('--ckpt', nargs='+'); add_member_args(ap); ap.add_argument('--crops'); ap.add_argument('--prior-weights'); ap.add_argument('--repeats', type=int, default=8); ap.add_argument('--wrist-jsn', action='store_true')
a = ap.parse_args(); torch.set_num_threads(2)
model, prior = grader_from_args(a)
s = read_crop_split(a.crops); crops = np.asarray(s.crops, np.float32) / 65535.0; labels = s.grades
sites = s.meta[:, :N_SITES].argmax(1)
ph = E.probabilities_of(model, crops, s.meta)['jsn'][labels[:, 0] >= 0]
draws = [E.written_passes(model, crops, sites, labels, s.meta, 20261202 + 1000 * k, True, a.wrist_jsn) for k in range(a.repeats)]
truth = np.concatenate([d[0] for d in draws]); ps = np.concatenate([d[1]['jsn'] for d in draws])
nar = truth[:, 0] >= 2; pw, tw = ps[nar], truth[nar, 0]
g = np.arange(5)
def dec(p, how):
    if how == 'argmax': return p.argmax(1)
    c = p.cumsum(1)
    if how == 'median': return (c < 0.5).sum(1)
    if how == 'mean': return np.rint(p @ g).astype(int)
    if how == 'win3':
        w = np.stack([p[:, max(0, k-1):k+2].sum(1) for k in range(5)], 1); return w.argmax(1)
    if how.startswith('cap'):  # argmax, but a grade >= 2 only where P(>=2) > t
        t = float(how[3:]); am = p.argmax(1); hi = p[:, 2:].sum(1)
        alt = p[:, :2].argmax(1); return np.where((am >= 2) & (hi < t), alt, am)
for how in ['argmax', 'median', 'mean', 'win3', 'cap0.6', 'cap0.7']:
    h = dec(ph, how); w = dec(pw, how)
    print(f"{how:7} normals called {np.mean(h>=1):.3f} exact {np.mean(h==0):.3f} within1 {np.mean(h<=1):.3f} | written called {np.mean(w>=1):.3f} exact {np.mean(w==tw):.3f} within1 {np.mean(abs(w-tw)<=1):.3f} | mix76 exact {0.76*np.mean(h==0)+0.24*np.mean(w==tw):.3f} within1 {0.76*np.mean(h<=1)+0.24*np.mean(abs(w-tw)<=1):.3f}")
