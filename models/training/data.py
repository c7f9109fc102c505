"""Readers, targets and augmentations for the training sets written by
`jointscore training-set` (src/phantom/training-set.ts).

A split folder holds:
  detector.u16   N x S x S uint16 (display value x 65535), the letterboxed detector input
  detector.jsonl one line per image: seed, spec, scale, joints [{channel, x, y}] (input px)
  crops.u16      M x C x C uint16, grader crops (distal direction up)
  crops.jsonl    one line per crop: siteIndex, grades (-1 = not scored), angle, geometry
  meta.json      detectorSize, cropPx, cropMmPerPx, channels, sites, seeds, counts

Everything is read through numpy memmaps, so a split of a few GB costs no RAM; batches
are gathered by index and augmented as whole torch batches (cheap on 2 CPU cores, and
deterministic: every random draw comes from a torch.Generator seeded from
(seed, epoch, step)).

On a GPU the training pools can be loaded onto the device (`to_device`, `--data-on-device`
in the trainers) and the augmentations run where the batch is: the per-sample parameters
are still drawn on the CPU from the same generator, only the large random fields (pixel
noise) come from a device generator seeded from it, so a GPU run is deterministic too (on
the same device and torch version), and a CPU run draws exactly what it drew before.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

N_SITES = 21
N_CHANNELS = 2 * N_SITES
STRIDE = 4  # detector output stride (contract: heatmaps at S / 4)


# ----------------------------------------------------------------------------- reading

@dataclass
class DetectorSplit:
    folder: str
    size: int
    images: np.memmap          # N x S x S uint16
    joints: np.ndarray         # N x 42 x 3 float32: x, y (input px), present (0/1)
    scale: np.ndarray          # N: input px per image px
    spacing: np.ndarray        # N: mm per image px
    content_w: np.ndarray      # N: letterboxed content width in input px (rest is padding)
    content_h: np.ndarray
    seeds: np.ndarray


@dataclass
class CropSplit:
    folder: str
    crop_px: int
    mm_per_px: float
    crops: np.memmap           # M x C x C uint16
    meta: np.ndarray           # M x 23 float32: one-hot site, cos, sin of the distal angle
    grades: np.ndarray         # M x 3 int64: jsn, erosion, kl (-1 = not scored)
    geometry: np.ndarray       # M x 4 float32: dx, dy, w, h (mm, image axes)
    site: np.ndarray           # M int64 site index
    image: np.ndarray          # M int64 index of the source image in the split


def _read_jsonl(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_meta(folder: str) -> dict:
    path = os.path.join(folder, "meta.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{folder}: no meta.json (is the training-set export finished?)")
    with open(path) as f:
        return json.load(f)


def read_detector_split(folder: str) -> DetectorSplit:
    meta = read_meta(folder)
    s = int(meta["detectorSize"])
    recs = _read_jsonl(os.path.join(folder, "detector.jsonl"))
    n = len(recs)
    images = np.memmap(os.path.join(folder, "detector.u16"), dtype=np.uint16, mode="r", shape=(n, s, s))
    joints = np.zeros((n, N_CHANNELS, 3), np.float32)
    scale = np.zeros(n, np.float32)
    spacing = np.zeros(n, np.float32)
    cw = np.zeros(n, np.float32)
    ch = np.zeros(n, np.float32)
    seeds = np.zeros(n, np.int64)
    for i, r in enumerate(recs):
        assert r["image"] == i, f"{folder}: detector.jsonl line {i} is image {r['image']}"
        for j in r["joints"]:
            joints[i, j["channel"]] = (j["x"], j["y"], 1.0)
        scale[i] = r["scale"]
        spacing[i] = r["spec"]["pixelSpacingMm"]
        # letterbox(): content is round(rows * scale) x round(columns * scale) at top-left;
        # a partial view (wrist-only, finger-only) is the window cut from the film
        w = r.get("window")
        rows, cols = (w["bottom"] - w["top"], w["right"] - w["left"]) if w else (r["spec"]["rows"], r["spec"]["columns"])
        cw[i] = min(s, round(cols * r["scale"]))
        ch[i] = min(s, round(rows * r["scale"]))
        seeds[i] = r["seed"]
    return DetectorSplit(folder, s, images, joints, scale, spacing, cw, ch, seeds)


def read_crop_split(folder: str) -> CropSplit:
    meta = read_meta(folder)
    c = int(meta["cropPx"])
    recs = _read_jsonl(os.path.join(folder, "crops.jsonl"))
    m = len(recs)
    crops = np.memmap(os.path.join(folder, "crops.u16"), dtype=np.uint16, mode="r", shape=(m, c, c))
    site = np.array([r["siteIndex"] for r in recs], np.int64)
    angle = np.array([r["angle"] for r in recs], np.float32)
    meta_v = np.zeros((m, N_SITES + 2), np.float32)
    meta_v[np.arange(m), site] = 1.0
    meta_v[:, N_SITES] = np.cos(angle)
    meta_v[:, N_SITES + 1] = np.sin(angle)
    grades = np.array([[r["jsn"], r["erosion"], r["kl"]] for r in recs], np.int64)
    geometry = np.array([[r["dxMm"], r["dyMm"], r["wMm"], r["hMm"]] for r in recs], np.float32)
    image = np.array([r["image"] for r in recs], np.int64)
    return CropSplit(folder, c, float(meta["cropMmPerPx"]), crops, meta_v, grades, geometry, site, image)


def u16_to_device(arr: np.ndarray, device) -> torch.Tensor:
    """A uint16 array as an int16 tensor (same bits) on the device: half the memory of
    float16 and exact; `u16_rows` turns rows back into [0,1] floats."""
    return torch.from_numpy(np.array(arr).view(np.int16)).to(device)  # a copy: memmaps are read-only


def u16_rows(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows idx of an int16 device tensor made by u16_to_device -> float [B,1,H,W] in [0,1]."""
    return ((t[idx].int() & 0xFFFF).float() * (1.0 / 65535.0)).unsqueeze(1)


def u16_batch(arr: np.memmap, idx: np.ndarray) -> torch.Tensor:
    """Gather rows of a uint16 memmap (sorted reads are kinder to the page cache) -> float [B,1,H,W] in [0,1]."""
    order = np.argsort(idx)
    x = np.empty((len(idx),) + arr.shape[1:], np.float32)
    x[order] = arr[idx[order]].astype(np.float32) * (1.0 / 65535.0)
    return torch.from_numpy(x).unsqueeze(1)


# ----------------------------------------------------------------------------- detector targets

def channel_swap() -> torch.Tensor:
    """Channel permutation for a horizontal flip: a mirrored left hand looks like a right hand."""
    return torch.cat([torch.arange(N_SITES, N_CHANNELS), torch.arange(0, N_SITES)])


def heatmap_targets(joints: torch.Tensor, out: int, sigma: float) -> torch.Tensor:
    """Gaussian heatmaps [B, 42, out, out] from joints [B, 42, 3] (x, y in input px, present).

    Output cell (r, c) stands for the input point ((c + 0.5) * STRIDE, (r + 0.5) * STRIDE)
    (how the node maps a peak back), so a joint sits at cell coordinate x / STRIDE - 0.5.
    The Gaussian is centred on the exact (sub-cell) position so that the 3 x 3 centroid the
    node takes around the peak carries sub-cell information; the nearest cell is then set
    to exactly 1, the positive of the CenterNet focal loss.
    """
    b, k, _ = joints.shape
    u = joints[..., 0] / STRIDE - 0.5
    v = joints[..., 1] / STRIDE - 0.5
    grid = torch.arange(out, dtype=torch.float32, device=joints.device)
    gx = torch.exp(-((grid.view(1, 1, out) - u.unsqueeze(-1)) ** 2) / (2 * sigma**2))  # B,K,W
    gy = torch.exp(-((grid.view(1, 1, out) - v.unsqueeze(-1)) ** 2) / (2 * sigma**2))  # B,K,H
    hm = gy.unsqueeze(-1) * gx.unsqueeze(-2)
    present = joints[..., 2] > 0
    ui = u.round().long()
    vi = v.round().long()
    inside = present & (ui >= 0) & (ui < out) & (vi >= 0) & (vi < out)
    hm = hm * inside.float().view(b, k, 1, 1)
    bi, ki = torch.nonzero(inside, as_tuple=True)
    hm[bi, ki, vi[bi, ki], ui[bi, ki]] = 1.0
    return hm


# ----------------------------------------------------------------------------- augmentation

def _u(g: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _randn_like(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Standard normal noise shaped like x, on x's device. On the CPU straight from g (as
    before); elsewhere from a device generator seeded by one draw from g."""
    if x.device.type == "cpu":
        return torch.randn(x.shape, generator=g)
    seed = int(torch.randint(0, 2**62, (1,), generator=g).item())
    gd = torch.Generator(device=x.device)
    gd.manual_seed(seed)
    return torch.randn(x.shape, generator=gd, device=x.device)


def blurred_each(x: torch.Tensor, sigma: torch.Tensor, radius: int) -> torch.Tensor:
    """Each image of a [B,1,H,W] batch blurred by its own Gaussian (sigma [B] px; a separable
    kernel of 2 * radius + 1 taps; edges replicated): one grouped convolution per axis."""
    b = x.shape[0]
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(t.view(1, -1) ** 2) / (2 * sigma.view(b, 1) ** 2))
    k = (k / k.sum(1, keepdim=True)).to(x.device)
    xb = x.reshape(1, b, *x.shape[2:])
    xb = F.conv2d(F.pad(xb, (radius, radius, 0, 0), mode="replicate"), k.view(b, 1, 1, -1), groups=b)
    xb = F.conv2d(F.pad(xb, (0, 0, radius, radius), mode="replicate"), k.view(b, 1, -1, 1), groups=b)
    return xb.view_as(x)


def intensity_aug(x: torch.Tensor, g: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """Gamma, contrast, brightness, Gaussian blur and noise on a [B,1,H,W] batch in [0,1].

    Sites differ in exposure processing and detector noise; the display windowing removes
    most of the global range but not the tone curve or the noise texture.
    """
    b = x.shape[0]
    dev = x.device
    gamma = torch.exp(_u(g, b, -0.35, 0.35) * strength).view(b, 1, 1, 1).to(dev)
    x = x.clamp(0, 1) ** gamma
    contrast = (1 + _u(g, b, -0.25, 0.25) * strength).view(b, 1, 1, 1).to(dev)
    bright = (_u(g, b, -0.08, 0.08) * strength).view(b, 1, 1, 1).to(dev)
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * contrast + mean + bright
    # blur half of the batch with sigma 0.3-1.2 px (separable 5-tap kernel)
    sig = _u(g, b, 0.3, 1.2)
    do_blur = torch.rand(b, generator=g) < 0.5 * strength
    if do_blur.any():
        sel = torch.nonzero(do_blur).flatten().to(dev)
        x = x.clone()
        x[sel] = blurred_each(x[sel], sig[do_blur], 2)
    noise = (_u(g, b, 0.0, 0.04) * strength).view(b, 1, 1, 1).to(dev)
    x = x + noise * _randn_like(x, g)
    return x.clamp(0, 1)


def processing_aug(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Another site's image processing on a [B,1,H,W] batch in [0,1]: a tone curve (gamma
    0.6-1.6), edge enhancement (unsharp mask, Gaussian sigma 1-3 px, amount 0-1.5) on half the
    batch, and a coarser detector on a quarter (lowres_aug). Why: the shipped graders call more
    normal held-out real joints under gamma 1.4, unsharp masking or half resolution than as
    stored (test films 10.3 -> 13.9, 12.7, 12.7 %: experiments/processing_shift.py), though
    intensity_aug draws such gammas: nothing asked the grades to stay put when the processing
    changes (train_grader.py --consistency)."""
    b = x.shape[0]
    dev = x.device
    gamma = torch.exp(_u(g, b, math.log(0.6), math.log(1.6))).view(b, 1, 1, 1).to(dev)
    x = x.clamp(0, 1) ** gamma
    sig = _u(g, b, 1.0, 3.0)
    amount = (_u(g, b, 0.0, 1.5) * (torch.rand(b, generator=g) < 0.5)).view(b, 1, 1, 1).to(dev)
    x = x + amount * (x - blurred_each(x, sig, 6))
    return lowres_aug(x.clamp(0, 1), g, 0.25)


def geometric_aug(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A [B,1,C,C] batch mirrored left-right half the time, turned by up to 12 degrees, scaled by
    0.9-1.12 and shifted by up to 8 px (reflected at the border): the real crops come from a
    few dozen hands, seen again and again (run v14, models/training/README.md: it did not close
    the gap between those films and held-out ones). For crops without a geometry target only:
    the offsets and box would move with the pixels."""
    b = x.shape[0]
    flip = torch.where(torch.rand(b, generator=g) < 0.5, -1.0, 1.0)
    a = _u(g, b, -12, 12) * math.pi / 180
    sc = _u(g, b, 0.9, 1.12)
    tx, ty = _u(g, b, -8, 8) * 2 / x.shape[3], _u(g, b, -8, 8) * 2 / x.shape[2]
    cos, sin = torch.cos(a) / sc, torch.sin(a) / sc
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1).to(x.device)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def lowres_aug(x: torch.Tensor, g: torch.Generator, p: float) -> torch.Tensor:
    """A share p of a [B,1,C,C] batch shrunk by 1.5-3.5 x (area average) and enlarged back:
    a crop at 0.16 mm/px cut from a film stored at 0.25-0.5 mm/px (research exports,
    downsized PACS copies) holds no finer detail than that."""
    b, _, h, w = x.shape
    sel = torch.nonzero(torch.rand(b, generator=g) < p).flatten()
    if len(sel) == 0:
        return x
    x = x.clone()
    factors = _u(g, len(sel), 1.5, 3.5)
    for i, f in zip(sel.tolist(), factors.tolist()):
        small = F.interpolate(x[i:i + 1], size=(max(8, int(h / f)), max(8, int(w / f))), mode="area")
        x[i:i + 1] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return x


def occlusion_aug(x: torch.Tensor, g: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Random occluders drawn on a [B,1,S,S] batch: bright blobs (jewellery, markers), thin
    lines (cast edges, wires) and text-like rectangles (burned-in annotations)."""
    b, _, h, w = x.shape
    yy = torch.arange(h, dtype=torch.float32, device=x.device).view(1, h, 1)
    xx = torch.arange(w, dtype=torch.float32, device=x.device).view(1, 1, w)
    x = x.clone()
    for i in range(b):
        if torch.rand(1, generator=g).item() > p:
            continue
        n = int(torch.randint(1, 4, (1,), generator=g).item())
        for _ in range(n):
            kind = int(torch.randint(0, 3, (1,), generator=g).item())
            cx, cy = (torch.rand(2, generator=g) * torch.tensor([w, h])).tolist()
            val = float(torch.rand(1, generator=g).item())
            if kind == 0:  # blob
                r = 2 + 6 * float(torch.rand(1, generator=g).item())
                m = ((xx - cx) ** 2 + (yy - cy) ** 2) < r * r
            elif kind == 1:  # line
                ang = math.pi * float(torch.rand(1, generator=g).item())
                d = (xx - cx) * math.sin(ang) - (yy - cy) * math.cos(ang)
                m = d.abs() < 0.5 + float(torch.rand(1, generator=g).item())
            else:  # text-like rectangle of bright "glyph" columns
                rw = 8 + 30 * float(torch.rand(1, generator=g).item())
                rh = 3 + 5 * float(torch.rand(1, generator=g).item())
                box = ((xx - cx).abs() < rw / 2) & ((yy - cy).abs() < rh / 2)
                m = box & ((xx.long() % 3) != 0)
                val = 0.7 + 0.3 * val
            x[i, 0] = torch.where(m[0], torch.full_like(x[i, 0], val), x[i, 0])  # no host sync on a GPU
    return x


def affine_aug(
    x: torch.Tensor, joints: torch.Tensor, content_w: torch.Tensor, g: torch.Generator,
    flip_p: float = 0.5, rot_deg: float = 12.0, scale_range=(0.85, 1.15), shift_px: float = 12.0,
):
    """Horizontal flip (with L <-> R channel swap), rotation, scale and shift of a
    detector batch x [B,1,S,S] with joints [B,42,3] (x, y input px, present). x may be on
    any device; joints, content_w and the parameters stay on the CPU.

    The flip mirrors the letterboxed content inside its own width (content stays at the
    top-left, as the node letterboxes), so x -> W - x. The rest is one affine about the
    content centre; joints move with the pixels, joints pushed outside drop out.
    """
    b, _, s, _ = x.shape
    joints = joints.clone()
    flip = torch.rand(b, generator=g) < flip_p
    if flip.any():
        xi = x.clone()
        for i in torch.nonzero(flip).flatten().tolist():
            wc = int(content_w[i].item())
            xi[i, :, :, :wc] = torch.flip(x[i, :, :, :wc], dims=[-1])
            jt = joints[i].clone()
            jt[:, 0] = wc - jt[:, 0]
            joints[i] = jt[channel_swap()]
        x = xi
    ang = torch.deg2rad(_u(g, b, -rot_deg, rot_deg))
    sc = _u(g, b, *scale_range)
    tx = _u(g, b, -shift_px, shift_px)
    ty = _u(g, b, -shift_px, shift_px)
    # forward map (input px): p' = c + sc * R (p - c) + t, c = content centre
    cx = content_w / 2
    cy = torch.full_like(cx, s / 2)
    cos, sin = torch.cos(ang), torch.sin(ang)
    px, py = joints[..., 0], joints[..., 1]
    qx = cx.view(b, 1) + sc.view(b, 1) * (cos.view(b, 1) * (px - cx.view(b, 1)) - sin.view(b, 1) * (py - cy.view(b, 1))) + tx.view(b, 1)
    qy = cy.view(b, 1) + sc.view(b, 1) * (sin.view(b, 1) * (px - cx.view(b, 1)) + cos.view(b, 1) * (py - cy.view(b, 1))) + ty.view(b, 1)
    inside = (qx >= 0) & (qx < s) & (qy >= 0) & (qy < s)
    joints = torch.stack([qx, qy, joints[..., 2] * inside.float()], -1)
    # grid_sample needs the inverse map, in normalised coords (align_corners=False:
    # pixel centre p + 0.5 <-> ((p + 0.5) / s) * 2 - 1, i.e. n = 2 p / s - 1 for the
    # continuous coordinate p used by the targets)
    inv = torch.zeros(b, 2, 3)
    # p = c + R^T (q - c - t) / sc
    r00, r01, r10, r11 = cos / sc, sin / sc, -sin / sc, cos / sc
    ox = cx - (r00 * (cx + tx) + r01 * (cy + ty))
    oy = cy - (r10 * (cx + tx) + r11 * (cy + ty))
    # in normalised coordinates n = 2 p / s - 1  ->  p = (n + 1) s / 2
    inv[:, 0, 0], inv[:, 0, 1] = r00, r01
    inv[:, 1, 0], inv[:, 1, 1] = r10, r11
    inv[:, 0, 2] = (r00 + r01 - 1) + 2 * ox / s
    inv[:, 1, 2] = (r10 + r11 - 1) + 2 * oy / s
    grid = F.affine_grid(inv.to(x.device), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return x, joints


def generator(seed: int, epoch: int, step: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed((seed * 1_000_003 + epoch * 10_007 + step) % (2**63 - 1))
    return g
