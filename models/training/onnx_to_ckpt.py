#!/usr/bin/env python3
"""Rebuild a grader checkpoint from the shipped ONNX (the 0.6.0 checkpoint,
runs/grader-v6/last.pt, was lost; training continues from it).

- Named initializers (meta.*, fuse.*, heads.*, geo.*) map by name onto the state dict.
- The convolutions were folded with their BatchNorm at export (onnx::Conv_NNN weight and
  bias pairs): the graph's Conv nodes, in order, are matched to the Grader's Conv2d modules
  in forward order (shapes, kernel, stride, padding and the node's scope name checked at
  each step). The conv takes the folded weight; the BatchNorm after it becomes an exact
  identity plus the folded bias (running_mean 0, running_var such that var + eps == 1 in
  float32, weight 1, bias = the folded bias). Exported again, conv + BN folds back to the
  same numbers bit for bit.
- The healthy-grade prior (export.py --prior-weights) is in the graph as constants, not in
  the checkpoint (Grader's prior_* buffers are not persistent): it is read from the
  manifest, checked against the graph's constants, and applied only to verify.
- Verifies the torch model, with the prior applied as export.py applies it, on the
  manifest's test vector (test-vector.json, its tolerances); exits 1 if over tolerance.

The checkpoint mirrors train_grader.py's layout ("model", "opt", "epoch", "step", "wall_s",
"args", ...; the optimiser state is a fresh AdamW's: the moments were not exported), so
`train_grader.py --init` and `export.py --grader-ckpt` accept it. BatchNorm statistics are
folded: fine-tune with `train_grader.py --freeze-bn` (or re-estimate them first).

  /usr/bin/python3 models/training/onnx_to_ckpt.py --out models/training/runs/grader-v6/last.pt
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grader import SCALES, Grader  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NAMES = ["jsn", "erosion", "kl", "geometry"]


def fail(msg: str):
    print(f"FAIL {msg}", flush=True)
    sys.exit(1)


def conv_order(model: Grader) -> list[tuple[str, nn.Conv2d]]:
    """The model's Conv2d modules in the order the forward pass runs them."""
    names = {m: n for n, m in model.named_modules()}
    order = []
    hooks = [m.register_forward_hook(lambda m, i, o: order.append((names[m], m)))
             for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(torch.rand(2, 1, 112, 112), torch.zeros(2, 23))
    for h in hooks:
        h.remove()
    return order


def bn_after(model: Grader, conv_name: str) -> nn.BatchNorm2d:
    """The BatchNorm2d that follows a conv in its Sequential (conv at index i, BN at i + 1)."""
    parent, idx = conv_name.rsplit(".", 1)
    bn = model.get_submodule(parent)[int(idx) + 1]
    if not isinstance(bn, nn.BatchNorm2d):
        fail(f"{conv_name}: no BatchNorm2d after it")
    return bn


def unit_var(eps: float) -> float:
    """A float32 v with v + eps == 1 exactly in float32 (so 1 / sqrt(v + eps) == 1)."""
    v = torch.tensor(1.0 - eps, dtype=torch.float32)
    for _ in range(8):
        s = float(v.add(eps))
        if s == 1.0:
            return float(v)
        v = torch.nextafter(v, torch.tensor(2.0 if s < 1.0 else 0.0))
    fail(f"no float32 running_var with var + {eps} == 1")


def graph_constants(g) -> dict:
    from onnx import numpy_helper
    return {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in g.node if n.op_type == "Constant"}


def graph_priors(g) -> dict:
    """exp(log-weights) the graph multiplies the probabilities by: the Mul right after each
    head's renormalised probabilities, in head order (jsn, erosion, kl)."""
    consts = graph_constants(g)
    found = []
    for n in g.node:
        if n.op_type == "Mul" and len(found) < len(SCALES):
            c = [consts[i] for i in n.input if i in consts]
            if len(c) == 1 and c[0].shape == (1, list(SCALES.values())[len(found)]):
                found.append(c[0].reshape(-1))
    if len(found) != len(SCALES):
        fail(f"found {len(found)} prior constants in the graph, expected {len(SCALES)}")
    return {name: np.log(w.astype(np.float64)) for name, w in zip(SCALES, found)}


def rebuild(onnx_path: str) -> tuple[Grader, dict]:
    import onnx
    from onnx import numpy_helper
    m = onnx.load(onnx_path)
    g = m.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    used = set()
    model = Grader(1.0).eval()
    sd = model.state_dict()
    new = {}

    # 1. by name
    for k in sd:
        if k in inits:
            if tuple(inits[k].shape) != tuple(sd[k].shape):
                fail(f"{k}: onnx {inits[k].shape} vs torch {tuple(sd[k].shape)}")
            new[k] = torch.from_numpy(inits[k].copy())
            used.add(k)
    # 2. folded convs, graph order vs forward order
    nodes = [n for n in g.node if n.op_type == "Conv"]
    convs = conv_order(model)
    if len(nodes) != len(convs):
        fail(f"{len(nodes)} Conv nodes in the graph, {len(convs)} Conv2d modules")
    eps_var = {}
    for node, (name, conv) in zip(nodes, convs):
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        w = inits[node.input[1]]
        b = inits[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[0], np.float32)
        if tuple(w.shape) != tuple(conv.weight.shape) or b.shape != (conv.out_channels,):
            fail(f"{node.name} {w.shape} -> {name} {tuple(conv.weight.shape)}")
        if (list(attrs.get("strides", [1, 1])) != list(conv.stride) or list(attrs.get("pads", [0] * 4)) != list(conv.padding) * 2
                or attrs.get("group", 1) != conv.groups):
            fail(f"{node.name} attributes {attrs} vs {name} stride {conv.stride} padding {conv.padding}")
        scopes = node.name.strip("/").split("/")[:-1]  # e.g. /l1/c1/c1.0/Conv -> l1, c1, c1.0
        if node.name and (scopes[0] != name.split(".")[0] or not name.endswith(scopes[-1])):
            fail(f"{node.name} matched to {name}: scope names differ")
        bn = bn_after(model, name)
        bn_name = name.rsplit(".", 1)[0] + f".{int(name.rsplit('.', 1)[1]) + 1}"
        if bn.eps not in eps_var:
            eps_var[bn.eps] = unit_var(bn.eps)
        n = conv.out_channels
        new[f"{name}.weight"] = torch.from_numpy(w.copy())
        new[f"{bn_name}.weight"] = torch.ones(n)
        new[f"{bn_name}.bias"] = torch.from_numpy(b.copy())
        new[f"{bn_name}.running_mean"] = torch.zeros(n)
        new[f"{bn_name}.running_var"] = torch.full((n,), eps_var[bn.eps])
        new[f"{bn_name}.num_batches_tracked"] = sd[f"{bn_name}.num_batches_tracked"].clone()
        used.update(node.input[1:3])
        print(f"  {node.name:32s} {node.input[1]:15s} {str(tuple(w.shape)):18s} -> {name} + {bn_name}")
    # t0.view(1), folded into the graph as its own initializer: must equal t0
    for name in SCALES:
        for k, v in inits.items():
            if k not in used and v.shape == (1,) and float(v[0]) == float(new[f"heads.{name}.t0"]):
                used.add(k)
                break
    if not any(k.startswith("wrist_erosion.") for k in new):
        # a graph from before the wrist bones' erosion shift (grader <= 0.6.0): its
        # zero-started head adds exactly nothing, as Grader.load_state_dict does for checkpoints
        new.update({k: v.clone() for k, v in sd.items() if k.startswith("wrist_erosion.")})
    # the width head (grader >= 0.8.0) is not rebuilt: its checkpoint is committed (runs/); a
    # graph without it loads with has_width False, as Grader.load_state_dict does
    missing = sorted(k for k in set(sd) - set(new) if not k.startswith("jsw."))
    unused = sorted(set(inits) - used)
    if missing or unused:
        fail(f"state dict keys not set {missing}; initializers not used {unused}")
    model.load_state_dict(new)
    model.eval()
    return model, {"graph": g, "eps_var": eps_var}


def read_test_vector(path: str):
    with open(path) as f:
        tv = json.load(f)
    ci, mi = tv["inputs"]["crop"], tv["inputs"]["meta"]
    crop = np.frombuffer(base64.b64decode(ci["data"]), np.uint8).astype(np.float32) / 256.0
    meta = np.frombuffer(base64.b64decode(mi["data"]), "<f4").astype(np.float32)
    return tv, torch.from_numpy(crop.reshape(ci["shape"]).copy()), torch.from_numpy(meta.reshape(mi["shape"]).copy())


def check(outs, tv) -> bool:
    ok = True
    for name, o in zip(NAMES, outs):
        exp = np.asarray(tv["expected"][name], np.float32)
        d = float(np.abs(o.numpy() - exp).max())
        tol = tv["tolerance"]["geometry" if name == "geometry" else "probabilities"]
        ok &= d <= tol
        print(f"{'ok  ' if d <= tol else 'FAIL'} {name:9s} {list(o.shape)} max abs diff {d:.2e} (tol {tol})", flush=True)
    return ok


def reexport_check(model: Grader, onnx_path: str, tv_path: str) -> bool:
    """Export as export_grader does into a temporary file (never models/): same initializers
    (bit for bit) and prior constants as the shipped graph; onnxruntime-node on the test
    vector where node is there."""
    import onnx
    from onnx import numpy_helper
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.onnx")
        torch.onnx.export(model, (torch.zeros(2, 1, 112, 112), torch.zeros(2, 23)), path, input_names=["crop", "meta"],
                          output_names=NAMES, opset_version=13, do_constant_folding=True,
                          dynamic_axes={n: {0: "N"} for n in ["crop", "meta"] + NAMES})
        a, b = onnx.load(onnx_path).graph, onnx.load(path).graph
        ia = [(i.name, numpy_helper.to_array(i)) for i in a.initializer]
        ib = dict((i.name, numpy_helper.to_array(i)) for i in b.initializer)
        same = [n for n, v in ia if n in ib and v.shape == ib[n].shape and np.array_equal(v, ib[n])]
        ops = [n.op_type for n in a.node] == [n.op_type for n in b.node]
        pa, pb = graph_priors(a), graph_priors(b)
        pri = all(np.array_equal(pa[k], pb[k]) for k in SCALES)
        ok = len(same) == len(ia) == len(ib) and ops and pri
        print(f"{'ok  ' if ok else 'FAIL'} re-export: {len(same)}/{len(ia)} initializers identical (names and bits), "
              f"node ops {'same' if ops else 'differ'}, prior constants {'same' if pri else 'differ'}", flush=True)
        js = ("const ort=require('onnxruntime-node'),fs=require('fs');const [m,t]=process.argv.slice(1);"
              "const tv=JSON.parse(fs.readFileSync(t));const c=Float32Array.from(Buffer.from(tv.inputs.crop.data,'base64'),k=>k/256);"
              "const mb=Buffer.from(tv.inputs.meta.data,'base64');const me=new Float32Array(mb.buffer,mb.byteOffset,mb.length/4);"
              "ort.InferenceSession.create(m,{intraOpNumThreads:1}).then(s=>s.run({crop:new ort.Tensor('float32',c,tv.inputs.crop.shape),"
              "meta:new ort.Tensor('float32',me,tv.inputs.meta.shape)})).then(r=>{const o={};for(const k of ['jsn','erosion','kl','geometry'])"
              "{const e=tv.expected[k].flat();o[k]=Math.max(...e.map((v,i)=>Math.abs(r[k].data[i]-v)))}console.log(JSON.stringify(o))})")
        try:
            r = subprocess.run(["node", "-e", js, path, tv_path], cwd=ROOT, capture_output=True, text=True, timeout=120)
            if r.returncode == 0:
                print(f"     onnxruntime-node on the re-export vs test vector, max abs diff: {r.stdout.strip()}", flush=True)
            else:
                print(f"     (onnxruntime-node not run: {r.stderr.strip().splitlines()[-1:] })", flush=True)
        except (OSError, subprocess.TimeoutExpired) as e:
            print(f"     (onnxruntime-node not run: {e})", flush=True)
        return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "jointscore-grader"),
                    help="model.onnx, manifest.json, test-vector.json (read only)")
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "training", "runs", "grader-v6", "last.pt"))
    ap.add_argument("--prior-out", default=None, help="also write the manifest's prior as calibrate_prior.py's JSON "
                    "(for export.py --prior-weights), e.g. models/training/runs/grader-v6/prior.json")
    ap.add_argument("--no-reexport", action="store_true", help="skip the re-export check (temporary file)")
    args = ap.parse_args()
    torch.set_num_threads(1)

    onnx_path = os.path.join(args.model_dir, "model.onnx")
    tv_path = os.path.join(args.model_dir, "test-vector.json")
    with open(os.path.join(args.model_dir, "manifest.json")) as f:
        manifest = json.load(f)
    print(f"rebuilding {manifest['name']} {manifest['version']} from {onnx_path}", flush=True)
    model, info = rebuild(onnx_path)
    n_params = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("jsw."))
    if n_params not in (manifest["architecture"]["parameters"],
                        manifest["architecture"]["parameters"] + sum(p.numel() for p in model.wrist_erosion.parameters())):
        fail(f"{n_params} parameters, manifest {manifest['architecture']['parameters']}")

    # the prior: the manifest's, checked against the graph's constants
    cal = manifest.get("calibration")
    log_w = {k: np.asarray(cal["logWeights"][k], np.float64) for k in SCALES} if cal else {k: np.zeros(v) for k, v in SCALES.items()}
    # a graph from before the prior (grader <= 0.4.0) has no such constants
    in_graph = graph_priors(info["graph"]) if cal else log_w
    for k in SCALES:
        if not np.allclose(in_graph[k], log_w[k], atol=1e-6):
            fail(f"prior {k}: graph {in_graph[k].round(4).tolist()} vs manifest {log_w[k].tolist()}")
    print(f"prior log-weights (manifest = graph): {json.dumps({k: v.tolist() for k, v in log_w.items()})}", flush=True)

    tv, crop, meta = read_test_vector(tv_path)
    with torch.no_grad():
        bare = model(crop, meta)  # no prior: what the checkpoint holds
    for k in SCALES:  # as export.apply_prior
        getattr(model, f"prior_{k}").copy_(torch.tensor(log_w[k], dtype=torch.float32))
    with torch.no_grad():
        outs = model(crop, meta)
    print("torch (eval, prior applied) vs test vector:", flush=True)
    ok = check(outs, tv)
    print(f"     (without the prior the jsn / erosion outputs move by up to "
          f"{max(float((a - b).abs().max()) for a, b in zip(bare[:2], outs[:2])):.3f}: the prior is needed at export)")
    if not args.no_reexport:
        ok &= reexport_check(model, onnx_path, tv_path)
    if not ok:
        print("not written: over tolerance", flush=True)
        sys.exit(1)
    for k, n in SCALES.items():  # the checkpoint is the model without the prior (export adds it)
        getattr(model, f"prior_{k}").zero_()

    t = manifest["training"]
    targs = dict(t["args"])
    steps_per_epoch = min(targs["crops_per_epoch"] or t["crops"], t["crops"]) // targs["batch"]
    opt = torch.optim.AdamW(model.parameters(), lr=targs["lr"], weight_decay=targs["wd"])
    state = {
        "model": model.state_dict(), "opt": opt.state_dict(), "epoch": t["epochs"], "step": t["stepInEpoch"],
        "wall_s": float(t["wallTimeSeconds"]), "args": targs, "train_crops": t["crops"],
        "crops_seen": t["epochs"] * steps_per_epoch * targs["batch"] + t["stepInEpoch"] * targs["batch"],
        **({"init": {"path": targs["init"]}} if targs.get("init") else {}),
        "note": (f"reconstructed from models/jointscore-grader/model.onnx ({manifest['version']}, sha256 "
                 f"{manifest['sha256']}) by models/training/onnx_to_ckpt.py: the original checkpoint was lost. "
                 "BatchNorm folded into the convs at export: each BatchNorm2d is an identity in eval mode "
                 "(running_mean 0, running_var 1 - eps, weight 1) plus the folded bias. Fine-tune with BatchNorm in eval "
                 "mode (train_grader.py --freeze-bn) or re-estimate its statistics first. Optimiser state is a fresh "
                 "AdamW's (moments lost); epoch, step, wall_s and args from the manifest. The healthy-grade prior is "
                 "not in the model (see prior_log_weights): pass it to export.py --prior-weights."),
        "bn_folded": True,
        "source": {"onnx": os.path.relpath(onnx_path, ROOT), "sha256": manifest["sha256"], "version": manifest["version"]},
        "prior_log_weights": {k: v.tolist() for k, v in log_w.items()},
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, args.out)
    print(f"wrote {args.out} (epoch {state['epoch']}, {n_params} parameters)", flush=True)
    if args.prior_out and cal:
        with open(args.prior_out, "w") as f:
            json.dump({"logWeights": cal["logWeights"], "target": cal["target"], "n": int(cal["chosenOn"].split()[0]),
                       "note": f"from the {manifest['version']} manifest's calibration (onnx_to_ckpt.py)"}, f, indent=1)
        print(f"wrote {args.prior_out}", flush=True)


if __name__ == "__main__":
    main()
