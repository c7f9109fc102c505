"""Disease written onto real joint crops, with the grade it was written at.

A grader that learns disease only from phantoms and health only from real film learns the
shortcut "real texture means healthy" (grader 0.5.0's first run did: P(JSN > 0) 0.015 on
adult RA wrists, 0.020 on normal hands). Here a real crop (the node's own crop: the joint at
the centre, distal bone up, 0.16 mm a pixel) gets narrowing and erosions drawn into its own
texture, so real texture is seen at every grade.

- Narrowing (SvH JSN): the joint space is the dark band across the bone nearest the crop's
  centre; rows of it are taken out so that the space keeps the phantom's width fractions
  (1, 0.78, 0.55, 0.28, 0 for JSN 0-4; JSN 4 fuses the bone ends), the distal bone moving
  down towards the proximal one; JSN 2-4 only (JSN 1 is within normal variation). Only where such a band is found (finger joints and the
  thumb; a carpal crop or a crop of something else keeps its label).
- Erosions (SvH erosion): lucent bites at the bone margin next to the joint, sized and
  counted as the phantom draws them (radius 0.9-3.1 mm, 1-6 of them for grades 1-5),
  filled towards the soft-tissue level beside the bone. On the carpal sites (STT, CSL, RC:
  the SvH wrist erosion bones) the bites sit at bone margins near the crop's centre; with
  `carpal_erosion` (grader 0.10.0's wrist member) their outlines are ragged and from grade 3
  the site's joint space collapses with them, as on real erosive wrists.

- Osteoarthritis (KL 2-4, `write_kl`, only where asked: `kl_share`): marginal spurs of the
  phantom's count and size rooted in the crop's own cortex, subchondral sclerosis for KL 3-4,
  and the space narrowed as the phantom narrows it (by KL at DIP and IP1, as JSN 2 / 3 for
  KL 3 / 4 where JSN is scored too).

KL grades are left unknown (-1, masked) on a crop narrowed by `narrow`: KL also needs
osteophytes and sclerosis, which that path does not draw. Everything is drawn from a numpy Generator, so a run is
reproducible.
"""
from __future__ import annotations

import numpy as np

MM_PER_PX = 0.16
JSN_GAP = np.array([1.0, 0.78, 0.55, 0.28, 0.0])
ERO_RADIUS_MM = [0, 0.9, 1.3, 1.8, 2.4, 3.1]
ERO_COUNT = [0, 1, 2, 3, 4, 6]
# osteoarthritis as the phantom draws it (src/phantom/disease.ts), by KL grade
OST_COUNT = {2: (1, 3), 3: (2, 4), 4: (3, 5)}  # [low, high) spurs
OST_SIZE_MM = [0, 0.6, 1.3, 2.0, 2.9]
SCLEROSIS = [0, 0, 0.3, 0.65, 1.0]
KL_GAP = [1.0, 0.9, 0.8, 0.55, 0.28]  # the KL-only sites' narrowing (DIP, IP1)
# DESIGN.md's vocabulary order (JOINT_SITES): which sites have a joint space across the bone
SITES = ["DIP2", "DIP3", "DIP4", "DIP5", "PIP2", "PIP3", "PIP4", "PIP5", "IP1", "MCP1", "MCP2", "MCP3", "MCP4", "MCP5",
         "CMC1", "CMC3", "CMC4", "CMC5", "STT", "CSL", "RC"]
HINGE_SITES = {i for i, s in enumerate(SITES) if s.startswith(("DIP", "PIP", "IP", "MCP"))}
WRIST_JSN_SITES = {SITES.index(s) for s in ("CMC3", "CMC4", "CMC5", "STT", "CSL", "RC")}


def joint_groups(sites) -> np.ndarray:
    """Each site index's row of joints (MCP, PIP, DIP) or, for the others, its own name (IP1, CMC1, ...)."""
    return np.array([SITES[int(k)][:3] if SITES[int(k)][:3] in ("MCP", "PIP", "DIP") else SITES[int(k)] for k in sites])

# where SvH erosion is scored on carpal bones and the distal radius and ulna (docs/design.md)
CARPAL_SITES = {SITES.index(s) for s in ("STT", "CSL", "RC")}


def _smooth(v: np.ndarray, k: int = 3) -> np.ndarray:
    w = np.ones(2 * k + 1) / (2 * k + 1)
    return np.convolve(np.pad(v, k, mode="edge"), w, mode="valid")


def find_gap(crop: np.ndarray) -> tuple[int, int] | None:
    """(row of the joint space, its width in rows) near the centre, or None where no clear
    dark band crosses the bone (not a hinge joint seen PA, or not a joint at all)."""
    n = crop.shape[0]
    c = n // 2
    band = crop[:, c - 8:c + 8].mean(1)
    p = _smooth(band, 1)
    lo, hi = c - 26, c + 26
    y0 = lo + int(np.argmin(p[lo:hi]))
    above = p[max(0, y0 - 14):max(1, y0 - 4)].max()
    below = p[y0 + 4:min(n, y0 + 14)].max()
    bone = min(above, below)
    depth = bone - p[y0]
    if depth < 0.04 or bone < 0.2:
        return None
    half = (bone + p[y0]) / 2
    top = y0
    while top > 0 and p[top - 1] < half and y0 - top < 12:
        top -= 1
    bot = y0
    while bot < n - 1 and p[bot + 1] < half and bot - y0 < 12:
        bot += 1
    width = bot - top + 1
    if width < 2 or width > 16:
        return None
    return (top + bot) // 2, width


def narrow(crop: np.ndarray, gap: tuple[int, int], grade: int) -> np.ndarray:
    """Rows of the joint space removed (distal part shifted down); the top refilled by edge rows."""
    return narrow_to(crop, gap, JSN_GAP[grade])


def narrow_to(crop: np.ndarray, gap: tuple[int, int], fraction: float) -> np.ndarray:
    """The joint space narrowed to a fraction of its width (0: the bone ends meet)."""
    y0, width = gap
    k = int(round(width * (1 - fraction)))
    if fraction == 0:
        k = width + 1
    if k <= 0:
        return crop
    start = max(0, y0 - k // 2)
    kept = np.concatenate([crop[:start], crop[start + k:]], 0)
    out = np.concatenate([np.repeat(kept[:1], k, 0), kept], 0)
    # soften the seam, as a narrowed space still has a blurred edge (JSN 4: the bone ends meet)
    s = start + k
    if 2 <= s < out.shape[0] - 2:
        out[s - 1:s + 1] = (out[s - 2:s] + out[s:s + 2]) / 2
    return out


def _margins(crop: np.ndarray, row: int) -> tuple[int, int, float] | None:
    """Left and right bone margins along a row near the centre, and the soft-tissue level beside them."""
    n = crop.shape[1]
    r = _smooth(crop[row], 2)
    c = n // 2
    bone = r[c - 6:c + 6].mean()
    soft = min(r[:c - 6].min(initial=bone), r[c + 6:].min(initial=bone))
    if bone - soft < 0.08:
        return None
    half = (bone + soft) / 2
    left = c
    while left > 0 and r[left - 1] > half:
        left -= 1
    right = c
    while right < n - 1 and r[right + 1] > half:
        right += 1
    if right - left < 12:
        return None
    return left, right, soft


def erode(crop: np.ndarray, gap: tuple[int, int] | None, grade: int, rng: np.random.Generator) -> np.ndarray | None:
    """Erosions at the bone margins next to the joint; None where no bone margin is found."""
    out = crop.copy()
    n = crop.shape[0]
    y0, width = gap if gap else (n // 2, 6)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    drawn = 0
    for i in range(ERO_COUNT[grade]):
        radius = ERO_RADIUS_MM[grade] * rng.uniform(0.85, 1.15) / MM_PER_PX
        distal = i % 3 == 1
        offset = width / 2 + rng.uniform(1.2, 3.2) / MM_PER_PX
        row = int(np.clip(y0 - offset if distal else y0 + offset, 4, n - 5))
        m = _margins(out, row)
        if m is None:
            continue
        left, right, soft = m
        x = left if rng.random() < 0.5 else right
        # the bite's centre sits a little inside the cortex
        x += radius * 0.35 * (1 if x == left else -1)
        d = np.sqrt((xx - x) ** 2 + (yy - row) ** 2)
        a = np.clip(1.0 - d / radius, 0, 1) ** 0.6
        out = out - a * np.clip(out - soft, 0, None) * rng.uniform(0.5, 0.85)
        drawn += 1
    return out if drawn else None


def _ragged(d: np.ndarray, dy: np.ndarray, dx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Distances scaled by an outline that wanders with the angle (a few random harmonics, up to
    about a third of the radius): a bite with a ragged edge, as real erosions have, not a disc."""
    theta = np.arctan2(dy, dx)
    wobble = sum(rng.uniform(0.05, 0.14) * np.cos(k * theta + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5))
    return d / (1.0 + wobble)


def erode_carpal(crop: np.ndarray, grade: int, rng: np.random.Generator, ragged: bool = False) -> np.ndarray | None:
    """Erosions of the carpal bones and distal radius and ulna (STT, CSL, RC crops): lucent bites
    at bone margins within ~5 mm of the crop's centre, dug towards the crop's soft-tissue level.
    A carpal crop has no single joint space to measure from, so margins are taken wherever
    bright bone meets something darker; None where the crop shows no such margin."""
    n = crop.shape[0]
    sm = (crop + np.roll(crop, 1, 0) + np.roll(crop, -1, 0) + np.roll(crop, 1, 1) + np.roll(crop, -1, 1)) / 5
    soft, thr = np.percentile(sm, 5), np.percentile(sm, 55)
    if thr - soft < 0.08:
        return None
    win = np.lib.stride_tricks.sliding_window_view(np.pad(sm, 3, mode="edge"), (7, 7)).min(axis=(2, 3))
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    near = (yy - n / 2) ** 2 + (xx - n / 2) ** 2 <= (5.0 / MM_PER_PX) ** 2
    margin = near & (sm > thr) & (win < thr - 0.25 * (thr - soft))
    ys, xs = np.nonzero(margin)
    if len(ys) == 0:
        return None
    out = crop.copy()
    for _ in range(ERO_COUNT[grade]):
        k = rng.integers(len(ys))
        radius = ERO_RADIUS_MM[grade] * rng.uniform(0.85, 1.15) / MM_PER_PX
        d = np.sqrt((xx - xs[k]) ** 2 + (yy - ys[k]) ** 2)
        if ragged:
            d = _ragged(d, yy - ys[k], xx - xs[k], rng)
        a = np.clip(1.0 - d / radius, 0, 1) ** 0.6
        out = out - a * np.clip(out - soft, 0, None) * rng.uniform(0.55, 0.85)
    # a bite that landed on a faint margin would teach "erosion looks like nothing"
    return out if (crop - out).max() >= 0.08 else None


def osteophytes(crop: np.ndarray, gap: tuple[int, int], kl: int, rng: np.random.Generator) -> np.ndarray | None:
    """Marginal spurs (and for KL 3-4 subchondral sclerosis) at the joint, drawn as the phantom
    draws them (src/phantom/disease.ts lesionsFor, anatomy.ts decorate): 1-2, 2-3 or 3-4 spurs
    of 1.3, 2.0 or 2.9 mm for KL 2, 3, 4, each a thin ellipse growing from the rim of a bone
    end towards the joint and outwards, nearly as bright as the crop's own bone where it
    lies over soft tissue;
    None where no bone margin is found."""
    n = crop.shape[0]
    y0, width = gap
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    out = crop.copy()
    count = int(rng.integers(*OST_COUNT[kl]))
    drawn = 0
    for i in range(count):
        size = OST_SIZE_MM[kl] * rng.uniform(0.85, 1.2) / MM_PER_PX
        side = -1 if i % 2 == 0 else 1
        distal = bool(rng.random() < 0.5) if i >= 2 else i == 1
        up = -1 if distal else 1  # the distal bone lies above the joint (smaller rows)
        row = int(np.clip(y0 + up * (width / 2 + 0.7 * size), 2, n - 3))
        m = _margins(crop, row)
        if m is None:
            continue
        left, right, soft = m
        bone = float(np.percentile(crop[row, left:right + 1], 80))
        x = left + 0.1 * size if side < 0 else right - 0.1 * size  # rooted in the cortex
        d_row, d_col = -up, 0.6 * side  # back towards the joint and outwards
        norm = np.hypot(d_row, d_col)
        along = ((yy - row) * d_row + (xx - x) * d_col) / norm
        across = ((yy - row) * -d_col + (xx - x) * d_row) / norm
        dist = np.sqrt((along / size) ** 2 + (across / (0.35 * size)) ** 2)
        # bone added where there was none: over the bone itself a spur changes nothing
        spur = soft + np.clip(1.0 - dist, 0, 1) ** 0.5 * (bone - soft) * rng.uniform(0.75, 0.95)
        out = np.maximum(out, spur)
        drawn += 1
    if not drawn:
        return None
    if SCLEROSIS[kl] > 0:
        m = _margins(crop, int(np.clip(y0 + width // 2 + 3, 0, n - 1)))
        if m is not None:
            left, right, soft = m
            half_w = (right - left) / 2 * 0.8
            mid = (left + right) / 2
            for up in (-1, 1):
                c = y0 + up * (width / 2 + 1.4 / MM_PER_PX)
                dist = np.sqrt(((yy - c) / (1.4 / MM_PER_PX)) ** 2 + ((xx - mid) / half_w) ** 2)
                out = out + np.clip(1.0 - dist, 0, 1) * (crop.max() - soft) * 0.12 * SCLEROSIS[kl]
    return np.clip(out, 0.0, 1.0)


def write_kl(crop: np.ndarray, gap: tuple[int, int], g: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """Osteoarthritis at KL 2-4 written onto a healthy hinge-joint crop: spurs and sclerosis
    (osteophytes), then the space narrowed as the phantom narrows it: by KL alone at the
    KL-only sites (DIP, IP1), at JSN 2 / 3 for KL 3 / 4 where JSN is scored too (g updated).
    None where no spur could be placed."""
    kl = int(rng.choice([2, 3, 4], p=[0.45, 0.35, 0.2]))
    out = osteophytes(crop, gap, kl, rng)
    if out is None:
        return None
    if g[0] >= 0:
        jsn = {2: 0, 3: 2, 4: 3}[kl]
        if jsn:
            out = narrow(out, gap, jsn)
        g[0] = jsn
    else:
        out = narrow_to(out, gap, KL_GAP[kl])
    g[2] = kl
    return out


def write_disease(crops: np.ndarray, sites: np.ndarray, grades: np.ndarray, rng: np.random.Generator,
                  p: float = 0.5, kl_share: float = 0.0, wrist_jsn: bool = False,
                  carpal_erosion: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A share p of healthy real crops [B, C, C] in [0, 1] get narrowing and/or erosions, or
    (a share kl_share of those with a KL score and a joint space) osteoarthritis at KL 2-4;
    grades [B, 3] (jsn, erosion, kl; -1 = not scored) are updated to what was drawn.
    wrist_jsn: narrowing written at the wrist's JSN sites too (CMC3-5, STT, CSL, RC), where
    find_gap finds a band across the crop's centre (an experiment: the real RA wrists'
    collapsed carpi are what the grader's wrist JSN, learnt on phantoms, does not see).
    carpal_erosion: the carpal sites (STT, CSL, RC) of these normal crops count as erosion 0
    where their label leaves erosion unscored, and get erosions written as real wrists show
    them: ragged bites and, from grade 3, the site's joint space collapsed with them (SvH grades
    a wrist bone's erosion up to its collapse; an erosive wrist rarely keeps its spaces)."""
    crops = crops.copy()
    grades = grades.copy()
    if carpal_erosion:
        grades[np.isin(sites, list(CARPAL_SITES)) & (grades[:, 1] < 0), 1] = 0
    for b in range(len(crops)):
        if rng.random() >= p:
            continue
        site = int(sites[b])
        g = grades[b]
        gap = find_gap(crops[b]) if site in HINGE_SITES or (wrist_jsn and site in WRIST_JSN_SITES) else None
        # kl_share 0 draws nothing here: the narrowing and erosions drawn stay as before it
        if kl_share > 0 and gap is not None and site in HINGE_SITES and g[2] >= 0 and rng.random() < kl_share:
            written = write_kl(crops[b], gap, g, rng)
            if written is not None:
                crops[b] = written
                continue
        want_jsn = gap is not None and g[0] >= 0 and rng.random() < 0.75
        want_ero = g[1] >= 0 and (not want_jsn or rng.random() < 0.4)
        if want_jsn:
            # no JSN 1 ("doubtful") on real texture: a fifth of a millimetre is within the
            # natural variation of normal joints, and teaching it there calls normal joints mild
            j = int(rng.choice([2, 3, 4], p=[0.4, 0.4, 0.2]))
            crops[b] = narrow(crops[b], gap, j)
            g[0] = j
            if g[2] >= 0:
                g[2] = -1  # KL needs osteophytes too: unknown
        if want_ero:
            e = int(rng.choice([1, 2, 3, 4, 5], p=[0.3, 0.25, 0.2, 0.15, 0.1]))
            eroded = erode_carpal(crops[b], e, rng, ragged=carpal_erosion) if site in CARPAL_SITES else erode(crops[b], gap, e, rng)
            if eroded is not None:
                crops[b] = eroded
                g[1] = e
                if carpal_erosion and site in CARPAL_SITES and e >= 3 and gap is not None and g[0] < 2:
                    g[0] = 4 if e == 5 else 3
                    crops[b] = narrow(crops[b], gap, g[0])
    return crops, grades
