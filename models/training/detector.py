"""The joint detector: a compact U-Net-like heatmap network.

Input [B,1,256,256] display image in [0,1]; output [B,42,64,64] sigmoid heatmaps (stride 4),
channel k = the k-th of the 21 left-hand sites then the 21 right-hand sites.

Why this shape: the node needs every one of 42 joints per image, which joint is which
depends on the whole hand (which finger, which hand), so the encoder goes down to
stride 32 (8 x 8 cells, a receptive field over the whole hand); the decoder comes back
to stride 4 with skip connections for position. Plain 3 x 3 convs at low resolution and
depthwise-separable ones at high resolution keep it well under 100 ms on a CPU core pair.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from data import N_CHANNELS


def conv_bn(cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SepBlock(nn.Module):
    """Depthwise 3x3 (optionally strided) + pointwise, with a residual where shapes allow."""

    def __init__(self, cin: int, cout: int, s: int = 1):
        super().__init__()
        self.dw = conv_bn(cin, cin, 3, s, groups=cin)
        self.pw = conv_bn(cin, cout, 1)
        self.res = s == 1 and cin == cout

    def forward(self, x):
        y = self.pw(self.dw(x))
        return x + y if self.res else y


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual (ResNet basic block), first one optionally strided."""

    def __init__(self, cin: int, cout: int, s: int = 1):
        super().__init__()
        self.c1 = conv_bn(cin, cout, 3, s)
        self.c2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.short = None if (s == 1 and cin == cout) else nn.Sequential(
            nn.Conv2d(cin, cout, 1, s, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.c2(self.c1(x))
        return F.relu(y + (x if self.short is None else self.short(x)))


class Up(nn.Module):
    """Nearest x2 upsample, add a 1x1-projected skip, refine with a separable block."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.proj = conv_bn(cin, cout, 1)
        self.skip = conv_bn(cskip, cout, 1)
        self.refine = SepBlock(cout, cout)

    def forward(self, x, skip):
        x = F.interpolate(self.proj(x), scale_factor=2, mode="nearest")
        return self.refine(x + self.skip(skip))


class Detector(nn.Module):
    def __init__(self, width: int = 1):
        super().__init__()
        c = [16, 24, 48, 96, 160, 192]
        c = [int(v * width) for v in c]
        self.stem = conv_bn(1, c[0], 3, 2)                                   # /2  128
        self.s4 = nn.Sequential(SepBlock(c[0], c[1], 2), SepBlock(c[1], c[1]))  # /4   64
        self.s8 = nn.Sequential(SepBlock(c[1], c[2], 2), SepBlock(c[2], c[2]))  # /8   32
        self.s16 = nn.Sequential(BasicBlock(c[2], c[3], 2), BasicBlock(c[3], c[3]))  # /16 16
        self.s32 = nn.Sequential(BasicBlock(c[3], c[4], 2), BasicBlock(c[4], c[5]))   # /32  8
        self.up16 = Up(c[5], c[3], 96)
        self.up8 = Up(96, c[2], 64)
        self.up4 = Up(64, c[1], 48)
        # separable head at stride 4: a full 3x3 conv at 64 x 64 would cost more than the
        # whole encoder
        self.head = nn.Sequential(SepBlock(48, 48), nn.Conv2d(48, N_CHANNELS, 1))
        # CenterNet: start every heatmap near 0.01 so the focal loss is sane at step 0
        nn.init.constant_(self.head[-1].bias, -math.log((1 - 0.01) / 0.01))

    def logits(self, x):
        x = self.stem(x)
        f4 = self.s4(x)
        f8 = self.s8(f4)
        f16 = self.s16(f8)
        f32 = self.s32(f16)
        y = self.up16(f32, f16)
        y = self.up8(y, f8)
        y = self.up4(y, f4)
        return self.head(y)

    def forward(self, x):
        # the contract wants probabilities: sigmoid in the graph
        return torch.sigmoid(self.logits(x))


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced pixel-wise focal loss, normalised by the number of joints."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    neg = 1 - pos
    logp = F.logsigmoid(logits)
    log1mp = F.logsigmoid(-logits)
    pos_loss = ((1 - p) ** alpha) * logp * pos
    neg_loss = ((1 - target) ** beta) * (p**alpha) * log1mp * neg
    n = pos.sum().clamp(min=1.0)
    return -(pos_loss.sum() + neg_loss.sum()) / n


def decode(heat: torch.Tensor):
    """What the node does with the heatmaps: per channel, the maximum cell, refined by the
    3x3 weighted centroid, mapped to input px ((cell + 0.5) * stride).

    Returns xy [B,42,2] in input px and the peak value [B,42]."""
    from data import STRIDE
    b, k, h, w = heat.shape
    flat = heat.view(b, k, -1)
    peak, idx = flat.max(-1)
    r = (idx // w).float()
    c = (idx % w).float()
    pad = F.pad(heat, (1, 1, 1, 1))
    ri = (idx // w).view(b, k, 1, 1) + torch.arange(3).view(1, 1, 3, 1)
    ci = (idx % w).view(b, k, 1, 1) + torch.arange(3).view(1, 1, 1, 3)
    bi = torch.arange(b).view(b, 1, 1, 1)
    ki = torch.arange(k).view(1, k, 1, 1)
    win = pad[bi, ki, ri, ci]  # B,K,3,3 (values outside the map are 0)
    off = torch.tensor([-1.0, 0.0, 1.0])
    tot = win.sum((-1, -2)).clamp(min=1e-12)
    dr = (win.sum(-1) * off).sum(-1) / tot
    dc = (win.sum(-2) * off).sum(-1) / tot
    x = (c + dc + 0.5) * STRIDE
    y = (r + dr + 0.5) * STRIDE
    return torch.stack([x, y], -1), peak


def load_detector(path: str) -> Detector:
    """A trained detector from its checkpoint (train_detector.py's), in eval mode."""
    m = Detector()
    m.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["model"])
    m.eval()
    return m


@torch.no_grad()
def heatmaps_of(model: nn.Module, images, n: int, batch: int = 32) -> torch.Tensor:
    """The model's heatmaps of images(idx) (an ImagePool's `images`) for the n images, in batches."""
    return torch.cat([model(images(torch.arange(a, min(n, a + batch)).numpy())) for a in range(0, n, batch)])


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
