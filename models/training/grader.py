"""The joint grader: a small CNN on the 112 x 112 crop, fused with the 23-dim meta.

Inputs (contract): crop [N,1,112,112] raw display values in [0,1]; meta [N,23] = one-hot
site (21) + cos, sin of the crop's distal angle in the image.
Outputs: jsn [N,5], erosion [N,6], kl [N,5] class probabilities; geometry [N,4] =
true centre minus crop centre (dx, dy, image axes, mm) and the joint box (w, h, mm).

Design choices (why):
- Per-crop standardisation inside the graph, so the node passes raw crops and a site's
  exposure/processing does not shift the features.
- Ordinal heads (CORAL, Cao et al. 2020): one scalar score per scale and K-1 ordered
  thresholds; P(y > k) = sigmoid(score - theta_k) is monotone in k by construction, and
  the class probabilities are the differences, clamped and renormalised, in the graph.
  Grades are ordered, and the metric thresholds them into severity classes.
- Geometry: the crop is turned so the distal direction points up, but the targets are
  in image axes. A CNN cannot multiply by cos/sin easily, so the net predicts the centre
  offset in crop axes and the box size along the crop axes, and the graph turns them into
  image axes with the meta's cos/sin (exact), plus a small learned correction.
"""
from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from data import N_SITES
from real_disease import CARPAL_SITES, SITES, WRIST_JSN_SITES as _WRIST_JSN

SCALES = {"jsn": 5, "erosion": 6, "kl": 5}


def conv_bn(cin, cout, k=3, s=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Block(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.c1 = conv_bn(cin, cout, 3, s)
        self.c2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.short = None if (s == 1 and cin == cout) else nn.Sequential(nn.Conv2d(cin, cout, 1, s, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.c2(self.c1(x))
        return F.relu(y + (x if self.short is None else self.short(x)))


class OrdinalHead(nn.Module):
    """CORAL head: score s, thresholds theta_0 < ... < theta_{K-2} (cumulative softplus)."""

    def __init__(self, cin: int, k: int):
        super().__init__()
        self.k = k
        self.score = nn.Linear(cin, 1)
        self.t0 = nn.Parameter(torch.tensor(-1.0))
        self.gaps = nn.Parameter(torch.zeros(k - 2))

    def cum_logits(self, h: torch.Tensor) -> torch.Tensor:
        """[N, K-1] logits of P(y > k), k = 0..K-2."""
        theta = torch.cat([self.t0.view(1), self.t0 + torch.cumsum(F.softplus(self.gaps) + 0.05, 0)])
        return self.score(h) - theta.view(1, -1)

    @staticmethod
    def probs(cum_logits: torch.Tensor) -> torch.Tensor:
        gt = torch.sigmoid(cum_logits)                       # P(y > k)
        ones = torch.ones_like(gt[:, :1])
        zeros = torch.zeros_like(gt[:, :1])
        upper = torch.cat([ones, gt], 1)                     # P(y > k-1) = P(y >= k)
        lower = torch.cat([gt, zeros], 1)                    # P(y > k)
        p = (upper - lower).clamp(min=1e-6)
        return p / p.sum(1, keepdim=True)


class Grader(nn.Module):
    def __init__(self, width: int = 1):
        super().__init__()
        c = [int(v * width) for v in (16, 32, 64, 96, 128)]
        self.stem = nn.Sequential(conv_bn(1, c[0], 3, 2))          # 56
        self.l1 = Block(c[0], c[1], 2)                               # 28
        self.l2 = Block(c[1], c[2], 2)                               # 14
        self.l3 = Block(c[2], c[3], 2)                               # 7
        self.l4 = Block(c[3], c[4], 1)                               # 7
        # keep where things are (joint space position, centre offset): a compact
        # flattened 7x7 map beside the global average
        self.spatial = conv_bn(c[4], 16, 1)
        self.meta = nn.Sequential(nn.Linear(N_SITES + 2, 32), nn.ReLU(inplace=True))
        feat = c[4] + 16 * 49 + 32
        self.fuse = nn.Sequential(nn.Linear(feat, 192), nn.ReLU(inplace=True), nn.Dropout(0.2))
        self.heads = nn.ModuleDict({name: OrdinalHead(192, k) for name, k in SCALES.items()})
        # The wrist bones' erosion (STT, CSL, RC crops): the erosion head's score plus a
        # learnt shift of it, zero at the start, so a checkpoint from before the wrist bones
        # were scored grades every other site exactly as it did (load_state_dict below), and
        # a fine-tune of this alone (train_grader.py --train-only wrist) leaves them so.
        self.wrist_erosion = nn.Sequential(nn.Linear(192, 64), nn.ReLU(inplace=True), nn.Linear(64, 1))
        nn.init.zeros_(self.wrist_erosion[2].weight)
        nn.init.zeros_(self.wrist_erosion[2].bias)
        # The joint space width in mm (finger joints: JSW_SITES), read off the fused features
        # by a small head trained after the rest on the phantom's exact widths
        # (train_jsw.py), so the grades stay bit for bit those of the checkpoint it was
        # trained on. `has_width` says whether a checkpoint carried it (export adds the output).
        self.jsw = nn.Sequential(nn.Linear(192, 64), nn.ReLU(inplace=True), nn.Linear(64, 1))
        self.has_width = False
        # geometry: (u, v) centre offset in crop axes (u right, v down), (a, b) box size
        # along the crop's right / up axes, and a residual in image axes
        self.geo = nn.Linear(192, 8)
        # Log-weights on the grade probabilities (0 = none): a calibration chosen after
        # training (calibrate_prior.py) and exported in the graph, so that every reader of
        # the probabilities (the grade, AP, the SR) sees the same calibrated numbers. One row
        # for the hand's joints, one for the wrist bones (STT, CSL, RC crops: many more
        # edges and rings in a normal crop, so they need their own), one for the thumb's
        # joints (IP1, MCP1, CMC1: on a PA film the thumb lies turned, half in profile, its
        # outlines overlapping, which the phantom's thumb is not). Not in the state dict:
        # checkpoints stay loadable either way.
        for name, k in SCALES.items():
            self.register_buffer(f"prior_{name}", torch.zeros(len(PRIOR_PARTS), k), persistent=False)
        # the sites the wrist row weighs (wrist_row_sites: STT, CSL, RC unless a prior names more)
        self.register_buffer("prior_wrist_row", site_mask(WRIST_SITES), persistent=False)

    def features(self, crop, meta):
        mean = crop.mean(dim=(2, 3), keepdim=True)
        std = crop.std(dim=(2, 3), keepdim=True)
        x = (crop - mean) / (std + 1e-3)
        x = self.l4(self.l3(self.l2(self.l1(self.stem(x)))))
        g = x.mean(dim=(2, 3))
        s = torch.flatten(self.spatial(x), 1)
        return self.fuse(torch.cat([g, s, self.meta(meta)], 1))

    def geometry(self, h, meta):
        o = self.geo(h)
        cos, sin = meta[:, N_SITES:N_SITES + 1], meta[:, N_SITES + 1:N_SITES + 2]
        u, v = o[:, 0:1], o[:, 1:2]
        # crop right axis = (-sin, cos), crop up = (cos, sin); offset = u*right - v*up
        dx = -u * sin - v * cos + 0.1 * o[:, 4:5]
        dy = u * cos - v * sin + 0.1 * o[:, 5:6]
        a = 10.0 * F.softplus(o[:, 2:3])  # mm, starts around 7 mm
        b = 10.0 * F.softplus(o[:, 3:4])
        w = a * sin.abs() + b * cos.abs() + o[:, 6:7]
        hh = a * cos.abs() + b * sin.abs() + o[:, 7:8]
        return torch.cat([dx, dy, w, hh], 1)

    def cum_logits(self, h, meta):
        """Cumulative logits per scale; the wrist bones' erosion shifted by wrist_erosion."""
        out = {name: head.cum_logits(h) for name, head in self.heads.items()}
        out["erosion"] = out["erosion"] + wrist_of(meta) * self.wrist_erosion(h)
        return out

    def train_outputs(self, crop, meta):
        """Cumulative logits per scale + geometry (for the losses)."""
        h = self.features(crop, meta)
        return self.cum_logits(h, meta), self.geometry(h, meta)

    def forward(self, crop, meta, width: bool = False):
        """(jsn, erosion, kl, geometry), and the joint space width [N, 1] mm where `width`."""
        h = self.features(crop, meta)
        return self.read_out(self.cum_logits(h, meta), h, meta, width)

    def read_out(self, cum: dict, h, meta, width: bool = False):
        """The outputs from cumulative logits (calibrated by this grader's prior) and features
        (geometry, width): forward's, and an ensemble's from its members' mean logits."""
        parts = parts_of(meta, self.prior_wrist_row)
        jsn, ero, kl = (reweight(OrdinalHead.probs(cum[k]), getattr(self, f"prior_{k}"), parts) for k in SCALES)
        if width:
            return jsn, ero, kl, self.geometry(h, meta), self.width(h)
        return jsn, ero, kl, self.geometry(h, meta)

    def width(self, h):
        return F.softplus(self.jsw(h))

    def load_state_dict(self, state, strict: bool = True):
        """Checkpoints from before wrist_erosion load with its zero shift; those without the
        width head load with an untrained one (has_width False)."""
        self.has_width = any(k.startswith("jsw.") for k in state)
        for part in ("wrist_erosion", "jsw"):
            if strict and not any(k.startswith(f"{part}.") for k in state):
                state = {**state, **{f"{part}.{k}": v for k, v in getattr(self, part).state_dict().items()}}
        return super().load_state_dict(state, strict)

    def set_prior(self, prior: dict) -> None:
        """calibrate_prior.py's log-weights: `logWeights` for every site, `logWeightsWrist`
        and `logWeightsThumb` (where given) for the wrist bones and the thumb's joints instead."""
        for score, w in prior["logWeights"].items():
            rows = [prior.get(PRIOR_KEYS[part], {}).get(score, w) for part in PRIOR_PARTS]
            getattr(self, f"prior_{score}").copy_(torch.tensor(rows, dtype=torch.float32))
        self.prior_wrist_row.copy_(site_mask(wrist_row_sites(prior)))


# site indices of STT, CSL, RC in data.py's one-hot (real_disease.py names them), and of the thumb's joints
WRIST_SITES = sorted(CARPAL_SITES)
THUMB_SITES = sorted(SITES.index(s) for s in ("IP1", "MCP1", "CMC1"))
WRIST_JSN_SITES = sorted(_WRIST_JSN)
# the sites hand-OA KL is graded at (DESIGN.md's joint vocabulary; src/analysis/joints.ts KL_SITES)
KL_SITES = sorted(SITES.index(s) for s in ("DIP2", "DIP3", "DIP4", "DIP5", "PIP2", "PIP3", "PIP4", "PIP5", "IP1",
                                           "MCP1", "MCP2", "MCP3", "MCP4", "MCP5", "CMC1", "STT"))
# the prior's rows, and the prior.json key of each
PRIOR_PARTS = ("hand", "wrist", "thumb")
PRIOR_KEYS = {"hand": "logWeights", "wrist": "logWeightsWrist", "thumb": "logWeightsThumb"}


class GraderEnsemble(nn.Module):
    """Several graders read as one, with the Grader's inputs, outputs and prior.

    Why: runs continued from 0.7.0 by other recipes (v13's ranking loss, v14's moved real
    crops) each separate written disease from normal real joints a little better than 0.7.0,
    and they miss different joints; the mean of their cumulative logits with 0.7.0's
    separates better than any one of them (docs/evaluation.md, "Real film: three graders as one"). The
    ordinal heads' logits are averaged before the probabilities are formed, so the grades
    stay ordinal and one prior (the first member's) acts on the mean as on a single grader.
    Geometry and the joint space width come from the first member, whose width head was trained on its
    own features (train_jsw.py).

    `wrist_jsn`: members read for JSN at the wrist JSN sites (CMC3-5, STT, CSL, RC) and for
    erosion at the wrist bones (STT, CSL, RC) only, in place of the others there. Why: a member
    that learnt wrist narrowing on real texture (run v19) is diluted away as one voice of four
    at the wrist and moves the finger joints it was not needed for; read at the wrist alone,
    every other output stays the others'. The wrist bones' erosion is read there too because
    its head (Grader.wrist_erosion, run v21) was trained on that member's features.
    `wrist_erosion`: members read for the wrist bones' erosion instead (a wrist JSN member
    fine-tuned whole, run v22, kept its narrowing and lost the RA wrists' erosion).
    `kl`: members read for KL at every KL site in place of the others. Why: the main members'
    features, retrained for real narrowing and erosion, lost the phantom's mild osteoarthritis
    (models/training/README.md "OA-KL on the `--wider` test"); a member trained for KL alone
    (train_grader.py --scales kl) keeps its whole width for it.
    """

    def __init__(self, members: list[Grader], wrist_jsn: list[Grader] | None = None, wrist_erosion: list[Grader] | None = None,
                 kl: list[Grader] | None = None):
        super().__init__()
        self.n_main = len(members)
        self.n_wrist = len(wrist_jsn or [])
        self.n_erosion = len(wrist_erosion or [])
        self.members = nn.ModuleList(list(members) + list(wrist_jsn or []) + list(wrist_erosion or []) + list(kl or []))
        self.has_width = members[0].has_width

    def set_prior(self, prior: dict) -> None:
        """The ensemble's prior is its first member's, applied to the mean logits."""
        self.members[0].set_prior(prior)

    def forward(self, crop, meta, width: bool = False):
        main = self.members[:self.n_main]
        hs = [m.features(crop, meta) for m in main]
        cums = [m.cum_logits(h, meta) for m, h in zip(main, hs)]
        mean = {k: torch.stack([c[k] for c in cums]).mean(0) for k in SCALES}
        w, e = self.n_main + self.n_wrist, self.n_main + self.n_wrist + self.n_erosion
        jsn_readers = list(self.members[self.n_main:w])
        # the wrist bones' erosion: its own members where given, else the wrist JSN members
        erosion_readers = list(self.members[w:e]) or jsn_readers
        kl_readers = list(self.members[e:])
        for score, sites, readers in (("jsn", WRIST_JSN_SITES, jsn_readers), ("erosion", WRIST_SITES, erosion_readers),
                                      ("kl", KL_SITES, kl_readers)):
            if readers:
                mean[score] = read_at_sites(mean[score], score, sites, readers, crop, meta)
        return self.members[0].read_out(mean, hs[0], meta, width)


def read_at_sites(logits, score: str, sites: list[int], readers: list[Grader], crop, meta):
    """`logits` [N, K-1] with the rows of crops at `sites` replaced by the mean of `readers`'
    cumulative logits for `score`, the readers run on those crops alone. Why: a hand's 21 crops
    hold 6 wrist JSN sites and 3 wrist bones, so reading the wrist members on every crop spent
    most of their time on outputs thrown away (0.10.1 ran five networks on all 21). The rows
    are gathered behind one blank crop (read and dropped), so a batch without a wrist site
    still gives the readers a row and every ONNX kernel a non-empty input."""
    at = meta[:, sites].sum(1) > 0.5
    idx = torch.nonzero(at).squeeze(1)
    sub_crop = torch.cat([crop.new_zeros((1,) + tuple(crop.shape[1:])), crop.index_select(0, idx)])
    sub_meta = torch.cat([meta.new_zeros((1,) + tuple(meta.shape[1:])), meta.index_select(0, idx)])
    read = torch.stack([r.cum_logits(r.features(sub_crop, sub_meta), sub_meta)[score] for r in readers]).mean(0)
    # row i of the batch takes row (its rank among the crops at `sites`) of `read`, 0 (the blank) elsewhere
    rank = torch.cumsum(at.long(), 0) * at.long()
    return torch.where(at.unsqueeze(1), read.index_select(0, rank), logits)


def load_grader(path: str | list[str], wrist_jsn: list[str] | None = None,
                wrist_erosion: list[str] | None = None, kl: list[str] | None = None) -> tuple[Grader | GraderEnsemble, dict]:
    """A trained grader from its checkpoint, in eval mode, and the checkpoint itself (the run's
    args and numbers besides the weights: weights_only=False, as train_common.load_state).
    Several checkpoints: their ensemble, and the first one's checkpoint with the others' in
    `members`; `wrist_jsn`, `wrist_erosion` and `kl` checkpoints: the ensemble's readers of those
    scores at their sites (GraderEnsemble), in `wristJsnMembers`, `wristErosionMembers`, `klMembers`."""
    paths = [path] if isinstance(path, str) else list(path)
    roles = (("wristJsnMembers", list(wrist_jsn or [])), ("wristErosionMembers", list(wrist_erosion or [])),
             ("klMembers", list(kl or [])))
    every = paths + [p for _, ps in roles for p in ps]
    states = [torch.load(p, map_location="cpu", weights_only=False) for p in every]
    models = []
    for state in states:
        model = Grader(1.0)
        model.load_state_dict(state["model"])
        models.append(model.eval())
    if len(models) == 1:
        return models[0], states[0]
    n = len(paths)
    record = {**states[0], "members": [{"path": p, **s} for p, s in zip(paths, states)]}
    groups, at = [], n
    for key, ps in roles:
        groups.append(models[at:at + len(ps)])
        if ps:
            record[key] = [{"path": p, **s} for p, s in zip(ps, states[at:at + len(ps)])]
        at += len(ps)
    return GraderEnsemble(models[:n], *groups).eval(), record


def add_member_args(ap) -> None:
    """The scripts' --wrist-jsn-ckpt, --wrist-erosion-ckpt and --kl-ckpt: load_grader's readers (member_ckpts)."""
    ap.add_argument("--wrist-jsn-ckpt", nargs="+", default=None,
                    help="grader checkpoints read for JSN at the wrist JSN sites only (grader.GraderEnsemble wrist_jsn)")
    ap.add_argument("--wrist-erosion-ckpt", nargs="+", default=None,
                    help="grader checkpoints read for the wrist bones' erosion (default: the --wrist-jsn-ckpt ones)")
    ap.add_argument("--kl-ckpt", nargs="+", default=None,
                    help="grader checkpoints read for KL at every KL site (grader.GraderEnsemble kl)")


def member_ckpts(args) -> dict:
    """load_grader's reader checkpoints from add_member_args' arguments."""
    return {"wrist_jsn": args.wrist_jsn_ckpt, "wrist_erosion": args.wrist_erosion_ckpt, "kl": args.kl_ckpt}


def grader_from_args(args) -> tuple[Grader | GraderEnsemble, dict | None]:
    """The grader of a script's --ckpt and add_member_args' arguments, with the prior of
    --prior-weights applied as the export applies it (or none), and that prior."""
    model, _ = load_grader(args.ckpt, **member_ckpts(args))
    prior = None
    if args.prior_weights:
        with open(args.prior_weights) as f:
            prior = json.load(f)
        model.set_prior(prior)
    return model, prior


def wrist_of(meta: torch.Tensor) -> torch.Tensor:
    """[N, 1]: 1 for a crop of a wrist bone site, 0 otherwise."""
    return meta[:, WRIST_SITES].sum(1, keepdim=True)


def parts_of(meta: torch.Tensor, wrist_row: torch.Tensor) -> torch.Tensor:
    """[N, 2]: whether each crop is of a site the prior's wrist row weighs (wrist_row: [N_SITES]
    mask), and of a thumb joint (neither: the hand row)."""
    return torch.cat([(meta[:, :N_SITES] * wrist_row).sum(1, keepdim=True), meta[:, THUMB_SITES].sum(1, keepdim=True)], 1)


def part_of_site(site: np.ndarray, wrist_row: list[int] | None = None) -> np.ndarray:
    """The prior part (PRIOR_PARTS) of each site index, as strings (wrist_row: wrist_row_sites)."""
    return np.where(np.isin(site, WRIST_SITES if wrist_row is None else wrist_row), "wrist",
                    np.where(np.isin(site, THUMB_SITES), "thumb", "hand"))


def wrist_row_sites(prior: dict | None) -> list[int]:
    """The sites a prior's wrist row weighs: the wrist bones (STT, CSL, RC), or those its
    `wristRowSites` names. Why: since 0.9.2 the wrist JSN sites (CMC3-5 too) are read by their
    own member (GraderEnsemble wrist_jsn), whose healthy JSN weight is chosen apart; CMC3-5
    carry JSN alone, so a prior whose hand and wrist rows agree on JSN grades them as before."""
    names = (prior or {}).get("wristRowSites")
    return WRIST_SITES if names is None else sorted(SITES.index(n) for n in names)


def site_mask(sites: list[int]) -> torch.Tensor:
    m = torch.zeros(N_SITES)
    m[sites] = 1.0
    return m


def reweight(p: torch.Tensor, log_w: torch.Tensor, parts: torch.Tensor) -> torch.Tensor:
    """p * exp(log_w), renormalised: a prior shift (Saerens et al. 2002) as a decision bias;
    log_w [3, k] holds the hand, wrist and thumb rows, parts [N, 2] says where the latter two apply."""
    w = log_w[0:1] + parts[:, 0:1] * (log_w[1:2] - log_w[0:1]) + parts[:, 1:2] * (log_w[2:3] - log_w[0:1])
    q = p * torch.exp(w)
    return q / q.sum(1, keepdim=True)


def coral_loss(cum_logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Binary cross-entropy over the K-1 tasks 'y > k', only where y >= 0 (scored).
    Returns the summed loss and the number of scored rows."""
    m = y >= 0
    n = int(m.sum())
    if n == 0:
        return cum_logits.sum() * 0.0, 0
    z = cum_logits[m]
    k = torch.arange(z.shape[1], device=z.device).view(1, -1)
    t = (y[m].view(-1, 1) > k).float()
    return F.binary_cross_entropy_with_logits(z, t, reduction="sum") / z.shape[1], n
