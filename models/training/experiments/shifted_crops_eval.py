# Experiment (not kept; models/training/README.md 'Looked at on 2026-12-05'): eval_real_disease.py with the
# ensemble's logits averaged over shifted (TTA='0,0;2,0;-2,0;0,2;0,-2') or scaled (TTA_SCALE=0.08) copies of each crop.
#   TTA='0,0;4,0;-4,0;0,4;0,-4' /usr/bin/python3 models/training/experiments/shifted_crops_eval.py --ckpt <the three members> \
#     --crops /tmp/jsd2/gate-test --prior-weights /tmp/prior-0.9.0.json --repeats 32 --per-crop
import os, sys, runpy
import torch, torch.nn.functional as F
TRAINING = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, TRAINING)
import grader as G
SH = [tuple(map(int, s.split(","))) for s in os.environ.get("TTA", "0,0").split(";")]
SC = float(os.environ.get("TTA_SCALE", "0"))
def shifted(crop, dx, dy):
    if dx == 0 and dy == 0: return crop
    p = max(abs(dx), abs(dy))
    c = F.pad(crop, (p, p, p, p), mode="replicate")
    n = crop.shape[-1]
    return c[..., p + dy:p + dy + n, p + dx:p + dx + n]
def scaled(crop, s):
    n = crop.shape[-1]
    theta = torch.tensor([[s, 0, 0], [0, s, 0]], dtype=crop.dtype).expand(crop.shape[0], 2, 3)
    grid = F.affine_grid(theta, crop.shape, align_corners=False)
    return F.grid_sample(crop, grid, padding_mode="border", align_corners=False)
def fwd(self, crop, meta, width=False):
    views = [shifted(crop, dx, dy) for dx, dy in SH]
    if SC: views += [scaled(crop, 1 + SC), scaled(crop, 1 - SC)]
    cums, h0 = [], None
    for v in views:
        for i, m in enumerate(self.members):
            h = m.features(v, meta)
            if h0 is None: h0 = h
            cums.append(m.cum_logits(h, meta))
    mean = {k: torch.stack([c[k] for c in cums]).mean(0) for k in G.SCALES}
    return self.members[0].read_out(mean, h0, meta, width)
G.GraderEnsemble.forward = fwd
sys.argv = ["eval_real_disease.py"] + sys.argv[1:]
runpy.run_path(TRAINING + "/eval_real_disease.py", run_name="__main__")
