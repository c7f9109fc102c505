#!/usr/bin/env python3
"""Does a power on the heatmaps (h -> h ** gamma, monotone: the peak cell and the order of
confidences do not change) make the node's 3x3 weighted centroid more accurate? The
centroid is biased towards the peak cell when the blob is wide relative to the window;
gamma < 1 flattens the window and pulls the estimate towards the true sub-cell position.

  /usr/bin/python3 models/training/calibrate_centroid.py --ckpt runs/detector/best.pt --val /tmp/jsdata/val
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from detector import decode, heatmaps_of, load_detector  # noqa: E402
from metrics import detector_metrics  # noqa: E402
from train_detector import ImagePool  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--ckpt", required=True)
ap.add_argument("--val", required=True)
ap.add_argument("--threshold", type=float, default=0.3)
args = ap.parse_args()
torch.set_num_threads(2)
pool = ImagePool([args.val])
heat = heatmaps_of(load_detector(args.ckpt), pool.images, pool.n)
for gamma in [1.0, 1.5, 2.0, 3.0]:
    h = heat.clamp(min=0) ** gamma
    xy, pk = decode(h)
    r = detector_metrics(xy.numpy(), pk.numpy(), pool.joints, pool.scale, pool.spacing, args.threshold ** gamma)
    print(f"gamma {gamma}: mean {r['mean_err_mm']:.3f} median {r['median_err_mm']:.3f} pck2mm {r['pck_2mm']:.4f} "
          f"pck10% {r['pck_10pct_mcp2_mcp5']:.4f} recall {r['recall_at_threshold']:.4f} false {r['false_hand_rate']:.4f}")
