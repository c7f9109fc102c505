#!/usr/bin/env python3
"""Export the trained detector and grader to ONNX with their manifests and test vectors.

For each model, writes models/<name>/{model.onnx, manifest.json, test-vector.json}:
- model.onnx: opset 13, input/output names and shapes exactly as docs/model-contract.md
  (detector: image [1,1,256,256] -> heatmaps [1,42,64,64], sigmoid inside; grader: crop
  [N,1,112,112] + meta [N,23] -> jsn, erosion, kl probabilities + geometry, dynamic N).
- manifest.json: the contract's form, sha256 of model.onnx, the training recipe and the
  metrics measured here, with this checkpoint, on the validation split (synthetic).
- test-vector.json: a real validation input quantised to k/256 (exact in float32 for any
  reader) as base64 little-endian bytes, and torch's output for it, so a TypeScript test
  can check that onnxruntime-node reproduces torch (models/training/verify_onnx.mjs does).

  /usr/bin/python3 models/training/export.py --val /tmp/jsdata/val \
      --detector-ckpt models/training/runs/detector/best.pt --grader-ckpt models/training/runs/grader/best.pt \
      --phantom-commit $(git -C /tmp/wt rev-parse HEAD)
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import N_CHANNELS, read_meta  # noqa: E402
from detector import Detector, decode, n_params  # noqa: E402
from grader import SCALES, Grader, GraderEnsemble, add_member_args, load_grader, member_ckpts  # noqa: E402
import train_detector  # noqa: E402
import train_grader  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OPSET = 13


def previous_calibration(name: str) -> dict | None:
    """The calibration of the detector manifest replaced (bounds on its confidence, measured on
    real films); for a new detector folder the main detector's, marked as inherited, since its
    measurements describe another model."""
    for folder in (name, "jointscore-detector"):
        try:
            with open(os.path.join(ROOT, "models", folder, "manifest.json")) as f:
                calibration = json.load(f).get("calibration")
        except (OSError, ValueError):
            continue
        if calibration and folder != name:
            calibration = {k: v for k, v in calibration.items() if k != "measuredOn"}
            calibration["inheritedFrom"] = f"{folder}: its bounds, not measured for this model"
        return calibration
    return None


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def quantise(x: np.ndarray) -> tuple[np.ndarray, str]:
    """[0,1] floats -> bytes k (value k/256, exact in float32) -> (values, base64 of the bytes)."""
    k = np.clip(np.round(x * 256), 0, 255).astype(np.uint8)
    return k.astype(np.float32) / 256.0, base64.b64encode(k.tobytes()).decode()


def b64f32(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def cpu_ms(fn, n: int = 10) -> float:
    with torch.no_grad():
        fn()
        t = time.time()
        for _ in range(n):
            fn()
    return (time.time() - t) / n * 1000


def load(ckpt_path: str, model: torch.nn.Module) -> dict:
    state = torch.load(ckpt_path, map_location="cpu", weights_only=False)  # args etc. besides tensors
    model.load_state_dict(state["model"])
    model.eval()
    return state


def training_recipe(args, state: dict, script: str, train_folders: list[str], unit: str, schedule: str | None = None) -> dict:
    # a checkpoint trained elsewhere (models/training/gpu/) carries its folders' meta.json
    carried = state.get("train_metas") or {}
    metas = [carried[f] if f in carried else read_meta(f) for f in train_folders]
    # real folders (real_partial_views.mjs) carry no phantom seeds; they are named apart
    phantom = [m for m in metas if not m.get("real")]
    real = sorted({(os.path.basename(f.rstrip("/")), m["kind"]) for f, m in zip(train_folders, metas) if m.get("real")})
    seeds = [min(m["seeds"][0] for m in phantom), max(m["seeds"][1] for m in phantom)]
    return {
        "data": "synthetic phantom radiographs (jointscore training-set)" + (" and real films (folders in realFolders)" if real else ""),
        **({"realFolders": [{"folder": f, "kind": k} for f, k in real]} if real else {}),
        "phantomCommit": args.phantom_commit,
        "seeds": seeds,
        "images": int(sum(m["images"] for m in metas)),
        "crops": int(sum(m["crops"] for m in metas)),
        "folders": [os.path.basename(f.rstrip("/")) for f in train_folders],
        "epochs": int(state["epoch"]),
        "stepInEpoch": int(state["step"]),
        f"{unit}PerEpoch": state["args"].get(f"{unit}_per_epoch"),
        "batch": state["args"]["batch"],
        "lr": state["args"]["lr"],
        "wallTimeSeconds": round(float(state["wall_s"])),
        "hardware": "CPU (2 threads)" if state["args"].get("device", "cpu") == "cpu" else state["args"]["device"],
        **({"schedule": schedule} if schedule else {}),
        "script": f"models/training/{script}",
        "scripts": ["models/training/data.py", f"models/training/{script}", "models/training/export.py"],
        "args": state["args"],
    }


class Sharpened(torch.nn.Module):
    """heatmaps ** power, in the graph. Monotone, so the peak cell and the ranking of
    confidences do not change; with power > 1 the node's 3x3 weighted centroid leans less
    on the (wider than trained) flanks of the predicted blob. calibrate_centroid.py
    measures the effect on the validation split."""

    def __init__(self, net: Detector, power: float):
        super().__init__()
        self.net = net
        self.power = power

    def forward(self, x):
        h = self.net(x)
        return h if self.power == 1.0 else h * h if self.power == 2.0 else h.clamp(min=0) ** self.power


def export_detector(args, val_folder: str):
    net = Detector(1.0)
    state = load(args.detector_ckpt, net)
    model = Sharpened(net, args.heatmap_power).eval()
    threshold = round(args.threshold ** args.heatmap_power, 6)
    d = os.path.join(ROOT, "models", args.detector_name)
    os.makedirs(d, exist_ok=True)
    onnx_path = os.path.join(d, "model.onnx")
    dummy = torch.zeros(1, 1, 256, 256)
    torch.onnx.export(model, dummy, onnx_path, input_names=["image"], output_names=["heatmaps"],
                      opset_version=OPSET, do_constant_folding=True)
    meta = read_meta(val_folder)
    pool = train_detector.ImagePool([val_folder])
    mets = train_detector.evaluate(model, pool, torch.device("cpu"), threshold)
    model.eval()  # evaluate() leaves the model in training mode
    # test vector: the first validation image
    x, b64 = quantise(np.asarray(pool.images(np.array([0]))[0, 0]))
    with torch.no_grad():
        heat = model(torch.from_numpy(x).view(1, 1, 256, 256))
    xy, peak = decode(heat)
    flat = heat.view(N_CHANNELS, -1).numpy()
    rng = np.random.default_rng(7)
    probe = np.sort(rng.choice(flat.size, 512, replace=False))
    tv = {
        "about": f"{args.detector_name} test vector: input = bytes / 256 (float32), shape [1,1,256,256], "
                 "row-major; expected values from torch (float32). Check max abs difference <= tolerance.",
        "input": {"name": "image", "shape": [1, 1, 256, 256], "encoding": "uint8 base64, value = byte / 256", "data": b64},
        "output": {"name": "heatmaps", "shape": [1, N_CHANNELS, 64, 64]},
        "expected": {
            "channelMax": [float(v) for v in flat.max(1)],
            "channelArgmax": [int(v) for v in flat.argmax(1)],
            "channelSum": [float(v) for v in flat.sum(1)],
            "probeIndices": [int(v) for v in probe],
            "probeValues": [float(v) for v in flat.reshape(-1)[probe]],
            "decodedXY": [[float(a), float(b)] for a, b in xy[0].numpy()],
        },
        "tolerance": {"values": 1e-4, "channelSum": 1e-2},
        "source": {"split": os.path.basename(val_folder.rstrip("/")), "image": 0},
    }
    with open(os.path.join(d, "test-vector.json"), "w") as f:
        json.dump(tv, f)
    ms = cpu_ms(lambda: model(dummy))
    calibration = previous_calibration(args.detector_name)
    manifest = {
        "name": args.detector_name,
        "version": args.version,
        "task": "detector",
        "file": "model.onnx",
        "sha256": sha256(onnx_path),
        "input": {"name": "image", "shape": [1, 1, 256, 256], "size": 256,
                  "normalisation": "display image in [0,1] (bone bright), letterboxed top-left, padding 0"},
        "output": {"layout": "heatmap", "name": "heatmaps", "shape": [1, N_CHANNELS, 64, 64], "stride": 4,
                   "threshold": threshold},
        "channels": meta["channels"],
        # measured on real films, not by training: kept from the manifest replaced (re-measure after retraining)
        **({"calibration": calibration} if calibration else {}),
        "architecture": {"kind": "U-Net-like heatmap net (separable + residual blocks, stride 32 encoder, stride 4 head)",
                         "parameters": n_params(net), "torchCpuMs2ThreadsSharedCpu": round(ms, 1), "opset": OPSET,
                         "heatmapSigmaCells": state["args"]["sigma"], "loss": "CenterNet focal loss",
                         **({} if args.heatmap_power == 1.0 else {
                             "outputPower": args.heatmap_power,
                             "note": f"heatmaps = sigmoid(logits) ** {args.heatmap_power} in the graph (sharper 3x3 "
                                     f"centroid); threshold {threshold} = {args.threshold} on the sigmoid"})},
        "training": training_recipe(args, state, "train_detector.py", state["args"]["train"], "images", args.detector_schedule),
        "metrics": {"split": f"validation (synthetic phantom, seeds {meta['seeds'][0]}-{meta['seeds'][1]}, "
                             f"{meta['images']} images); decoded as the node does (peak, 3x3 centroid)",
                    **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in mets.items()}},
    }
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("detector", manifest["sha256"], json.dumps(manifest["metrics"]), f"{ms:.1f} ms", flush=True)


def apply_prior(model: Grader, path: str | None) -> dict | None:
    """The per-grade log-weights of calibrate_prior.py (healthy grades; JSN 3 and 4 too with --grade-weights), put into the graph."""
    if not path:
        return None
    with open(path) as f:
        prior = json.load(f)
    model.set_prior(prior)
    return prior


def training_of(args, state: dict) -> dict:
    """The training record: from the checkpoint's folders (an ensemble: each member's, in
    order), or, where only the calibration is new (--training-from: the same weights as that
    release), that release's record, said so."""
    if not args.training_from:
        if "members" in state:
            return {"ensemble": "the mean of the members' cumulative logits (grader.GraderEnsemble); geometry and width from the first",
                    **({"schedule": args.grader_schedule} if args.grader_schedule else {}),
                    "members": recipes(args, state["members"]),
                    **({"wristJsnMembers": recipes(args, state["wristJsnMembers"]),
                        "wristJsn": "JSN at CMC3-5, STT, CSL and RC: the mean of wristJsnMembers' cumulative logits alone"}
                       if state.get("wristJsnMembers") else {}),
                    **({"wristErosionMembers": recipes(args, state["wristErosionMembers"]),
                        "wristErosion": "erosion at STT, CSL and RC: the mean of wristErosionMembers' cumulative logits alone"}
                       if state.get("wristErosionMembers") else {}),
                    **({"klMembers": recipes(args, state["klMembers"]),
                        "kl": "KL at every KL site: the mean of klMembers' cumulative logits alone"}
                       if state.get("klMembers") else {})}
        return training_recipe(args, state, "train_grader.py", state["args"]["train"], "crops", args.grader_schedule)
    with open(args.training_from) as f:
        earlier = json.load(f)
    return {**earlier["training"], "weightsOf": f"{earlier['name']} {earlier['version']} (sha256 of its model.onnx {earlier['sha256']}): "
            "the same weights, exported again with a new calibration"}


def recipes(args, members: list[dict]) -> list[dict]:
    return [{"checkpoint": os.path.relpath(m["path"], ROOT), **training_recipe(args, m, "train_grader.py", m["args"]["train"], "crops")}
            for m in members]


def used_parameters(model) -> int:
    """Parameters in the exported graph: a width head only where it is exported (an
    ensemble's first member's)."""
    members = list(model.members) if isinstance(model, GraderEnsemble) else [model]
    return sum(p.numel() for i, m in enumerate(members) for k, p in m.named_parameters()
               if not k.startswith("jsw.") or (i == 0 and model.has_width))


class WithWidth(torch.nn.Module):
    """The grader as exported: with its joint space width output where it has the head."""

    def __init__(self, grader: Grader):
        super().__init__()
        self.grader = grader

    def forward(self, crop, meta):
        return self.grader(crop, meta, width=self.grader.has_width)


def export_grader(args, val_folder: str):
    model, state = load_grader(args.grader_ckpt, **member_ckpts(args))
    prior = apply_prior(model, args.prior_weights)
    d = os.path.join(ROOT, "models", "jointscore-grader")
    os.makedirs(d, exist_ok=True)
    onnx_path = os.path.join(d, "model.onnx")
    dc, dm = torch.zeros(2, 1, 112, 112), torch.zeros(2, 23)
    names = ["jsn", "erosion", "kl", "geometry"] + (["jsw"] if model.has_width else [])
    torch.onnx.export(WithWidth(model), (dc, dm), onnx_path, input_names=["crop", "meta"], output_names=names,
                      opset_version=OPSET, do_constant_folding=True,
                      dynamic_axes={n: {0: "N"} for n in ["crop", "meta"] + names})
    meta = read_meta(val_folder)
    pool = train_grader.CropPool([val_folder])
    mets = train_grader.evaluate(model, pool, torch.device("cpu"))
    model.eval()  # evaluate() leaves the model in training mode
    # test vector: 4 validation crops of different sites
    idx = np.array([0, 9, 14, 20])
    c, m, _, _ = pool.batch(idx)
    cq, b64 = quantise(c.numpy())
    mq = m.numpy().astype(np.float32)
    with torch.no_grad():
        outs = model(torch.from_numpy(cq), torch.from_numpy(mq), width=model.has_width)
    tv = {
        "about": "jointscore-grader test vector: crop = bytes / 256 (float32), shape [4,1,112,112], row-major; "
                 "meta as float32; expected outputs from torch. Check max abs difference <= tolerance.",
        "inputs": {
            "crop": {"name": "crop", "shape": [4, 1, 112, 112], "encoding": "uint8 base64, value = byte / 256", "data": b64},
            "meta": {"name": "meta", "shape": [4, 23], "encoding": "float32 base64 little-endian", "data": b64f32(mq),
                     "values": mq.tolist()},
        },
        "expected": {n: o.numpy().tolist() for n, o in zip(names, outs)},
        "tolerance": {"probabilities": 1e-4, "geometry": 1e-3, **({"jsw": 1e-3} if model.has_width else {})},
        "source": {"split": os.path.basename(val_folder.rstrip("/")), "crops": idx.tolist()},
    }
    with open(os.path.join(d, "test-vector.json"), "w") as f:
        json.dump(tv, f)
    ms = cpu_ms(lambda: model(torch.zeros(21, 1, 112, 112), torch.zeros(21, 23), width=model.has_width))
    width = state.get("widthHead")
    sh = lambda k: [-1, k]  # noqa: E731
    manifest = {
        "name": "jointscore-grader",
        "version": args.version,
        "task": "grader",
        "file": "model.onnx",
        "sha256": sha256(onnx_path),
        "input": {"crop": {"name": "crop", "shape": [-1, 1, 112, 112]}, "meta": {"name": "meta", "shape": [-1, 23]},
                  "cropPx": 112, "cropMmPerPx": 0.16,
                  "normalisation": "raw display values in [0,1]; per-crop standardisation inside the graph"},
        "outputs": {"jsn": {"name": "jsn", "shape": sh(5)}, "erosion": {"name": "erosion", "shape": sh(6)},
                    "kl": {"name": "kl", "shape": sh(5)}, "geometry": {"name": "geometry", "shape": sh(4)},
                    **({"jsw": {"name": "jsw", "shape": sh(1)}} if model.has_width else {})},
        "sites": meta["sites"],
        "gradeSchemes": {"jsn": "SvH JSN 0-4", "erosion": "SvH erosion 0-5", "kl": "Kellgren-Lawrence 0-4"},
        "architecture": {"kind": "ResNet-like CNN (4 stages, 16-128 ch) + site/angle meta MLP; CORAL ordinal heads; "
                                 "geometry predicted in crop axes and turned to image axes in the graph",
                         "parameters": used_parameters(model),
                         "torchCpuMsPer21Crops2ThreadsSharedCpu": round(ms, 1), "opset": OPSET,
                         "loss": "CORAL binary cross-entropy per scale (masked where not scored) + smooth L1 geometry"},
        "training": {**training_of(args, state),
                     **({"jointSpaceWidth": {k: width[k] for k in ("script", "from", "train", "val", "epochs", "seed", "real", "realWeight",
                                                                    "anchorWeight", "realSeed") if k in width}} if width else {})},
        **({"calibration": {"kind": "per-grade log-weights on the probabilities, in the graph (calibrate_prior.py): the healthy grades' and, where chosen, JSN 3's and 4's",
                            "logWeights": prior["logWeights"], "target": prior["target"],
                            **{k: prior[k] for k in ("logWeightsWrist", "logWeightsThumb", "wristRowSites") if k in prior},
                            "chosenOn": prior["chosenOn"] if "chosenOn" in prior else f"{prior['n']} real training crops labelled healthy"}} if prior else {}),
        "metrics": {"split": f"validation (synthetic phantom, seeds {meta['seeds'][0]}-{meta['seeds'][1]}, "
                             f"{meta['crops']} crops from {meta['images']} images, crops centred on the true joint "
                             f"with the training-set jitter)",
                    **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in mets.items()},
                    **({"jointSpaceWidth": {"what": "joint space width (mm) at the finger joints against the phantom's true widths",
                                            **width["validation"]}} if width else {})},
    }
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("grader", manifest["sha256"], json.dumps(manifest["metrics"]), f"{ms:.1f} ms / 21 crops", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--val", required=True)
    ap.add_argument("--detector-ckpt", default=None)
    ap.add_argument("--grader-ckpt", default=None, nargs="+", help="a grader checkpoint; several: their ensemble (grader.GraderEnsemble)")
    add_member_args(ap)
    ap.add_argument("--phantom-commit", required=True)
    ap.add_argument("--threshold", type=float, default=0.3, help="detector peak threshold on the sigmoid")
    ap.add_argument("--detector-name", default="jointscore-detector",
                    help="folder under models/ and manifest name: jointscore-partial for the partial-view detector")
    ap.add_argument("--heatmap-power", type=float, default=1.0, help="exported heatmaps = sigmoid ** power")
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--detector-schedule", default=None, help="free text for the manifest (e.g. warm restarts)")
    ap.add_argument("--grader-schedule", default=None, help="free text for the manifest (e.g. warm restarts)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prior-weights", default=None, help="calibrate_prior.py's JSON: per-grade log-weights put into the grader's graph")
    ap.add_argument("--training-from", default=None,
                    help="an earlier grader manifest whose weights these are (a new calibration only): its training record is kept")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.grader_ckpt:
        export_grader(args, args.val)
    if args.detector_ckpt:
        export_detector(args, args.val)


if __name__ == "__main__":
    main()
