"""What both training scripts share: checkpoints (resume), the LR schedule, the CSV log,
the time budget."""
from __future__ import annotations

import csv
import json
import math
import os
import random
import time

import numpy as np
import torch


def add_common_args(ap, what: str) -> None:
    """The options both trainers share; `what` names their training samples (images, crops)."""
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--init", default=None, help="fine-tune: start from this checkpoint's weights (fresh optimiser and "
                    "schedule) when --out has no last.pt")
    ap.add_argument("--lr-by-time", action="store_true", help="cosine LR over the --minutes budget instead of --epochs; "
                    "when the budget runs out the partial epoch is validated and logged like a full one")
    ap.add_argument("--data-on-device", action="store_true", help=f"load the training {what} onto --device (GPU)")


def parse_common(ap):
    args = ap.parse_args()
    if args.lr_by_time and not args.minutes > 0:
        ap.error("--lr-by-time needs --minutes")
    return args


def open_pools(args, pool_class, device):
    """The training pool (on the device if asked) and the validation pool of the folders that exist."""
    train = pool_class(args.train)
    if args.data_on_device:
        train.to_device(device)
    vals = [v for v in (args.val or []) if os.path.exists(os.path.join(v, "meta.json"))]
    return train, (pool_class(vals) if vals else None)


def start_run(args, model: torch.nn.Module, ck: "Checkpointer", budget: "Budget"):
    """Optimiser, resumed state (or the --init weights on a fresh run) and the LR schedule.
    Returns (opt, epoch, step, wall, best, init, sched)."""
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    epoch, step, wall, best = resume(ck, model, opt)
    fresh = epoch == 0 and step == 0 and wall == 0
    init = init_weights(model, args.init) if args.init and fresh else None
    sched = TimeSchedule(budget) if args.lr_by_time else None
    return opt, epoch, step, wall, best, init, sched


def step_lr(opt, base: float, sched, epoch: int, step: int, steps_per_epoch: int, total_steps: int) -> float:
    """Sets this step's cosine learning rate (by wall time with --lr-by-time, else by steps)."""
    progress = sched.progress() if sched else (epoch * steps_per_epoch + step) / total_steps
    lr = cosine_lr(base, progress)
    for group in opt.param_groups:
        group["lr"] = lr
    return lr


def run_ends(stop: bool, budget: "Budget", epoch: int, ck: "Checkpointer") -> bool:
    """After an epoch's checkpoint: has the time schedule or the budget run out? Says which."""
    if stop:
        print(f"time schedule done after {epoch} epochs (last one partial); saved {ck.last}", flush=True)
    elif budget.over():
        print(f"time budget reached after epoch {epoch}; saved {ck.last}", flush=True)
    else:
        return False
    return True


def setup(threads: int, seed: int, device: str) -> torch.device:
    torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if str(device).startswith("cuda"):
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick its fastest kernels
    return torch.device(device)


def cosine_lr(base: float, progress: float, warmup: float = 0.02, floor: float = 0.02) -> float:
    """progress in [0, 1] over the planned run; short linear warm-up, cosine to floor x base."""
    if progress < warmup:
        return base * (0.1 + 0.9 * progress / warmup)
    p = min(1.0, (progress - warmup) / (1 - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


class Checkpointer:
    """out/last.pt is the state to resume from (written atomically); out/best.pt the best
    on validation; out/log.csv one row per epoch (appended across sessions)."""

    def __init__(self, out: str):
        self.out = out
        os.makedirs(out, exist_ok=True)
        self.last = os.path.join(out, "last.pt")
        self.best = os.path.join(out, "best.pt")
        self.log = os.path.join(out, "log.csv")

    def load(self):
        if os.path.exists(self.last):
            return load_state(self.last)
        return None

    def save(self, state: dict, best: bool = False):
        tmp = self.last + ".tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.last)
        if best:
            tmp = self.best + ".tmp"
            torch.save(state, tmp)
            os.replace(tmp, self.best)

    def log_row(self, row: dict):
        new = not os.path.exists(self.log)
        with open(self.log, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row.keys()))
            if new:
                w.writeheader()
            w.writerow({k: (f"{v:.5g}" if isinstance(v, float) else v) for k, v in row.items()})

    def write_json(self, name: str, obj):
        with open(os.path.join(self.out, name), "w") as f:
            json.dump(obj, f, indent=2)


def load_state(path: str) -> dict:
    """torch.load of a checkpoint dict. weights_only=False: the checkpoints hold the run's
    args and numbers besides tensors (torch >= 2.6 defaults to weights_only=True; the
    argument exists since 1.13)."""
    return torch.load(path, map_location="cpu", weights_only=False)


def init_weights(model: torch.nn.Module, path: str) -> dict:
    """Fine-tuning start: the model weights of another run's checkpoint, nothing else (a
    fresh optimiser, epoch 0 and a fresh LR schedule). Returns that checkpoint's summary."""
    state = load_state(path)
    model.load_state_dict(state["model"])
    info = {k: state.get(k) for k in ("epoch", "step", "wall_s")}
    print(f"initialised from {path}: {info}", flush=True)
    return {"path": path, **info}


class TimeSchedule:
    """--lr-by-time: the cosine's progress is the share of the --minutes budget spent, so
    that a run of fixed wall time ends at the LR floor whatever the throughput."""

    def __init__(self, budget: "Budget"):
        self.budget = budget

    def progress(self) -> float:
        return min(1.0, self.budget.elapsed() / self.budget.limit)


def resume(ck: "Checkpointer", model: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[int, int, float, float]:
    """Loads the last checkpoint, if any, into the model and optimiser: (epoch, step, wall_s, best)."""
    state = ck.load()
    if not state:
        return 0, 0, 0.0, -1e9
    model.load_state_dict(state["model"])
    # the committed checkpoints are weights only (gpu/strip.py): the device machine's working
    # tree must stay under 64 MiB; resuming one goes on with a fresh optimiser
    if "opt" in state:
        opt.load_state_dict(state["opt"])
    print(f"resumed from {ck.last}: epoch {state['epoch']} step {state['step']} wall {state['wall_s']:.0f}s{'' if 'opt' in state else ' (weights only: fresh optimiser)'}", flush=True)
    return state["epoch"], state["step"], state["wall_s"], state.get("best", -1e9)


def close_epoch(ck: "Checkpointer", row: dict, score, best: float) -> tuple[float, bool]:
    """End-of-epoch bookkeeping shared by both trainers: log and print the row; returns the
    best validation score so far and whether this epoch set it (the caller then saves)."""
    improved = score is not None and score > best
    ck.log_row(row)
    print("epoch", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    return (score if improved else best), improved


class Budget:
    def __init__(self, minutes: float):
        self.t0 = time.time()
        self.limit = minutes * 60 if minutes > 0 else float("inf")

    def elapsed(self) -> float:
        return time.time() - self.t0

    def over(self) -> bool:
        return self.elapsed() >= self.limit
