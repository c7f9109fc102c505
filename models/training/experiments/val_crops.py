#!/usr/bin/env python3
"""A grader's (or ensemble's) metrics on synthetic validation crops, no prior applied: the
figures train_grader.py logs each epoch (train_grader.evaluate), for a checkpoint or an
ensemble after the fact, so runs and releases compare on the same crops (run v25's table in
models/training/README.md).

  /usr/bin/python3 models/training/experiments/val_crops.py --ckpt M1 M2 M3 --wrist-jsn-ckpt W \
      --wrist-erosion-ckpt E [--kl-ckpt K] --val /tmp/jsd/val /tmp/jsd/val-wide
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from grader import add_member_args, load_grader, member_ckpts  # noqa: E402
from train_grader import CropPool, evaluate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, nargs="+", help="a grader checkpoint; several: their ensemble")
    add_member_args(ap)
    ap.add_argument("--val", required=True, nargs="+", help="validation training-set folders, seen as one set")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, _ = load_grader(args.ckpt if len(args.ckpt) > 1 else args.ckpt[0], **member_ckpts(args))
    print(json.dumps({k: round(v, 4) for k, v in evaluate(model, CropPool(args.val), "cpu").items()}, indent=1))


if __name__ == "__main__":
    main()
