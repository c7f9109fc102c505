"""Validation metrics (numpy): kappa, accuracy, severity-class average precision for the
grader; localisation (mm error, PCK) for the detector. All on synthetic validation data."""
from __future__ import annotations

import numpy as np

# docs/design.md: the reference study's severity classes (healthy / mild / severe)
SEVERITY = {"jsn": [0, 1, 1, 2, 2], "kl": [0, 0, 1, 2, 2]}
SITE_MCP2, SITE_MCP5 = 10, 13  # indices in the 21-site vocabulary


def quadratic_kappa(y: np.ndarray, p: np.ndarray, k: int) -> float:
    """Cohen's kappa with quadratic weights between true grades y and predicted grades p."""
    if len(y) == 0:
        return float("nan")
    o = np.zeros((k, k))
    np.add.at(o, (y, p), 1)
    w = (np.arange(k).reshape(-1, 1) - np.arange(k).reshape(1, -1)) ** 2 / (k - 1) ** 2
    e = np.outer(o.sum(1), o.sum(0)) / o.sum()
    den = (w * e).sum()
    return float(1 - (w * o).sum() / den) if den > 0 else float("nan")


def average_precision(score: np.ndarray, positive: np.ndarray) -> float:
    """All-point interpolated AP (area under the precision-recall curve)."""
    if positive.sum() == 0:
        return float("nan")
    order = np.argsort(-score, kind="stable")
    tp = positive[order].astype(np.float64)
    ctp = np.cumsum(tp)
    prec = ctp / np.arange(1, len(tp) + 1)
    rec = ctp / tp.sum()
    # make precision monotone from the right, then sum over recall steps
    prec = np.maximum.accumulate(prec[::-1])[::-1]
    return float(np.sum(prec * np.diff(np.concatenate([[0.0], rec]))))


def grader_metrics(probs: dict[str, np.ndarray], grades: np.ndarray, geo_pred: np.ndarray, geo_true: np.ndarray) -> dict:
    """probs[name] [M,K]; grades [M,3] (jsn, erosion, kl; -1 = not scored); geometry [M,4]."""
    out: dict[str, float] = {}
    for col, name in enumerate(["jsn", "erosion", "kl"]):
        y = grades[:, col]
        m = y >= 0
        p = probs[name][m]
        yy = y[m]
        pred = p.argmax(1)
        out[f"{name}_acc"] = float((pred == yy).mean()) if m.any() else float("nan")
        out[f"{name}_qwk"] = quadratic_kappa(yy, pred, p.shape[1])
        out[f"{name}_mae_grade"] = float(np.abs(pred - yy).mean()) if m.any() else float("nan")
        if name in SEVERITY:
            # per-crop AP of each severity class (the study's AP also needs the detection
            # IoU match; here the crop is given)
            sev = np.array(SEVERITY[name])
            ps = np.stack([p[:, sev == c].sum(1) for c in range(3)], 1)
            ys = sev[yy]
            aps = [average_precision(ps[:, c], ys == c) for c in range(3)]
            for c, nm in enumerate(["healthy", "mild", "severe"]):
                out[f"{name}_ap_{nm}"] = aps[c]
            out[f"{name}_ap_mean"] = float(np.nanmean(aps))
    err = np.abs(geo_pred - geo_true)
    for i, nm in enumerate(["dx", "dy", "w", "h"]):
        out[f"geo_mae_{nm}_mm"] = float(err[:, i].mean())
    out["centre_err_mm"] = float(np.hypot(geo_pred[:, 0] - geo_true[:, 0], geo_pred[:, 1] - geo_true[:, 1]).mean())
    out["centre_err_if_uncorrected_mm"] = float(np.hypot(geo_true[:, 0], geo_true[:, 1]).mean())
    return out


def detector_metrics(pred_xy: np.ndarray, peak: np.ndarray, joints: np.ndarray, scale: np.ndarray, spacing: np.ndarray, threshold: float) -> dict:
    """pred_xy [N,42,2], peak [N,42] (decoded as the node does), joints [N,42,3] true input px
    + present; scale (input px per image px), spacing (mm per image px) per image."""
    mm_per_input_px = (spacing / scale).reshape(-1, 1)
    present = joints[..., 2] > 0
    err_mm = np.hypot(pred_xy[..., 0] - joints[..., 0], pred_xy[..., 1] - joints[..., 1]) * mm_per_input_px
    # per hand: the MCP2 - MCP5 distance (the PCK reference length)
    ref = np.zeros_like(err_mm)
    for hand in (0, 1):
        a, b = hand * 21 + SITE_MCP2, hand * 21 + SITE_MCP5
        d = np.hypot(joints[:, a, 0] - joints[:, b, 0], joints[:, a, 1] - joints[:, b, 1]) * mm_per_input_px[:, 0]
        ref[:, hand * 21:(hand + 1) * 21] = d.reshape(-1, 1)
    found = peak >= threshold
    e = err_mm[present]
    ok = found[present]
    return {
        "joints": int(present.sum()),
        "recall_at_threshold": float(ok.mean()),
        "false_hand_rate": float(found[~present].mean()) if (~present).any() else 0.0,
        "mean_err_mm": float(e.mean()),
        "median_err_mm": float(np.median(e)),
        "pck_2mm": float(((err_mm <= 2.0) & found)[present].mean()),
        "pck_10pct_mcp2_mcp5": float(((err_mm <= 0.1 * ref) & found)[present].mean()),
        "mean_mcp2_mcp5_mm": float(ref[present].mean()),
        "within_5mm": float(((err_mm <= 5.0) & found)[present].mean()),
    }
