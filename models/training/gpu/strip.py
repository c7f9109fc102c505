#!/usr/bin/env python3
"""Weights-only copies of a run's checkpoints for the trip back from the GPU machine:
the same dict as last.pt / best.pt (model state dict in float32 on the CPU, epoch, step,
wall_s, best, args, train_metas, init) without the optimiser state, which is what
export.py reads. The train_metas (each training folder's meta.json) let export.py write
the training recipe without the folders, which stay on the GPU machine.

  python3 models/training/gpu/strip.py RUN_DIR OUT_PREFIX   # -> OUT_PREFIX-last.pt, OUT_PREFIX-best.pt
"""
import os
import sys

import torch


def strip(src: str, dst: str) -> None:
    state = torch.load(src, map_location="cpu", weights_only=False)
    state.pop("opt", None)
    state["model"] = {k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in state["model"].items()}
    state["stripped_from"] = os.path.basename(src)
    torch.save(state, dst)
    print(f"{src} -> {dst} ({os.path.getsize(dst)} bytes; epoch {state['epoch']} step {state['step']})", flush=True)


def main() -> None:
    run, prefix = sys.argv[1], sys.argv[2]
    for name in ("last", "best"):
        src = os.path.join(run, f"{name}.pt")
        if os.path.exists(src):
            strip(src, f"{prefix}-{name}.pt")


if __name__ == "__main__":
    main()
