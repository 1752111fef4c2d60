#!/usr/bin/env python3
"""Does s2cbam compute the same training step as PyTorch? (issue #20)

Loads what `export_step` wrote (the paper network's weights, a batch of real pixels, s2cbam's logits,
loss, gradients and the weights after one Adam step) into the PyTorch restatement of the network
(../shared/bench/torch_cbam_ref.py), runs the same step there with the same conventions (BN epsilon and
momentum, Adam's epsilon, mean cross-entropy), and compares every tensor within a bound derived from
float32 rounding (kernels/rounding_bound.h): two evaluations of a chain of n roundings differ by at most
2 n u / (1 - n u) times the size of the terms (u = 2^-24), the chain being the network's longest path
(step.json's forward_chain, twice that plus the batch's pixels for gradients).

Usage: build/experiments/export_step --config CONFIG --out DIR
       python3 scripts/compare_with_torch.py DIR [--torch-ref ../shared/bench/torch_cbam_ref.py]
Needs torch and numpy: scripts/install-torch.sh installs them into a virtual environment outside the
tree and prints its python.
Exit status 0 when every comparison is within its bound, 1 otherwise.
"""
import argparse
import json
import os
import runpy
import sys

import numpy as np
import torch
import torch.nn.functional as F

U = 2.0 ** -24


def gamma(n):
    return n * U / (1 - n * U)


def torch_name(s2_name):
    """s2cbam's parameter name -> the restatement's (stem, r1..r3, a1..a3, head)."""
    parts = s2_name.split(".")
    leaf = {"gamma": "weight", "beta": "bias"}.get(parts[-1], parts[-1])
    if parts[0] == "stem_conv":
        return "stem.0." + leaf
    if parts[0] == "stem_bn":
        return "stem.1." + leaf
    if parts[0] == "head":
        return "head." + leaf
    stage = parts[0].replace("stage", "")
    if parts[1] == "unit1":
        layer = {"conv1": "c1", "bn1": "b1", "conv2": "c2", "bn2": "b2", "skip": "skip"}[parts[2]]
        return f"r{stage}.{layer}.{leaf}"
    if parts[1] == "cbam":
        layer = {"fc1": "fc1", "fc2": "fc2", "conv": "sconv"}[parts[3]]
        return f"a{stage}.{layer}.{leaf}"
    raise KeyError(s2_name)


def load_dir(path):
    return {f[:-4]: np.load(os.path.join(path, f)) for f in sorted(os.listdir(path)) if f.endswith(".npy")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--torch-ref", default=os.path.join(here, "..", "..", "shared", "bench", "torch_cbam_ref.py"))
    a = ap.parse_args()
    step = json.load(open(os.path.join(a.dir, "step.json")))
    before, grads, after = (load_dir(os.path.join(a.dir, d)) for d in ("before", "grad", "after"))
    x = torch.from_numpy(np.load(os.path.join(a.dir, "x.npy")))
    y = torch.from_numpy(np.load(os.path.join(a.dir, "y.npy"))).long()
    s2_logits = np.load(os.path.join(a.dir, "logits.npy"))

    torch.manual_seed(0)
    torch.set_num_threads(2)
    net = runpy.run_path(a.torch_ref)["Net"](step["classes"])
    # s2cbam's momentum is the fraction of the batch statistic mixed in: PyTorch's convention.
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eps, m.momentum = step["bn_eps"], step["bn_momentum"]
    state = net.state_dict()
    for name, value in before.items():
        t = torch_name(name)
        if state[t].shape != value.shape:
            sys.exit(f"{name} -> {t}: shape {tuple(value.shape)} against PyTorch's {tuple(state[t].shape)}")
        state[t].copy_(torch.from_numpy(value))
    missing = {k for k in state if not k.endswith("num_batches_tracked")} - {torch_name(n) for n in before}
    if missing:
        sys.exit(f"PyTorch parameters with no s2cbam counterpart: {sorted(missing)}")

    adam_cls = torch.optim.AdamW if step["weight_decay"] > 0 else torch.optim.Adam
    opt = adam_cls(net.parameters(), lr=step["lr"], betas=(step["beta1"], step["beta2"]), eps=step["adam_eps"],
                   weight_decay=step["weight_decay"])
    net.train()
    logits = net(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    torch_grads = {n: p.grad.detach().numpy().copy() for n, p in net.named_parameters()}
    opt.step()
    torch_after = {k: v.detach().numpy() for k, v in net.state_dict().items()}

    chain, batch = step["forward_chain"], step["batch"]
    rows, failures = [], 0

    def check(what, got, want, bound):
        nonlocal failures
        err = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)))) if got.size else 0.0
        ok = err <= bound
        failures += 0 if ok else 1
        rows.append((what, err, bound, ok))

    tl = logits.detach().numpy()
    check("logits", s2_logits, tl, 2 * gamma(chain) * np.abs(tl).max())
    loss_chain = chain + batch * (step["classes"] + 24)
    check("loss", np.array([step["loss"]]), np.array([loss.item()]), 2 * gamma(loss_chain) * abs(loss.item()))
    grad_chain = 2 * chain + batch * step["pixels"]
    grad_scale = max(float(np.abs(g).max()) for g in torch_grads.values())
    for name, g in grads.items():
        check("grad " + name, g, torch_grads[torch_name(name)], 2 * gamma(grad_chain) * grad_scale)
    # Adam's first step moves a weight by about lr: where a gradient is rounding noise the two may step
    # in opposite directions, so the bound is 2 lr (plus the decay), and such weights must be rare.
    lr = step["lr"]
    flips = total = 0
    for name, value in after.items():
        t = torch_name(name)
        want = torch_after[t]
        if name.endswith("running_var") and not step["bn_unbiased_running_var"]:
            # PyTorch mixes in the unbiased batch variance, s2cbam (as Keras) the biased one.
            n = batch * step["pixels"]
            m = step["bn_momentum"]
            old = before[name]
            want = (1 - m) * old + (want - (1 - m) * old) * (n - 1) / n
        if name.endswith(("running_mean", "running_var")):
            check("after " + name, value, want, 2 * gamma(chain) * max(float(np.abs(want).max()), 1e-30))
            continue
        diff = np.abs(value.astype(np.float64) - want)
        flips += int(np.sum(diff > 0.5 * lr))
        total += diff.size
        check("after " + name, value, want, 2 * lr * (1 + 1e-3) + step["weight_decay"] * lr * float(np.abs(want).max()))
    flip_share = flips / max(total, 1)
    rows.append((f"weights that stepped the other way: {flips} of {total}", flip_share, 0.01, flip_share <= 0.01))
    failures += 0 if flip_share <= 0.01 else 1

    width = max(len(r[0]) for r in rows)
    print(f"{'tensor':<{width}}  {'max |s2cbam - torch|':>20}  {'bound':>10}  verdict")
    for what, err, bound, ok in rows:
        print(f"{what:<{width}}  {err:>20.3g}  {bound:>10.3g}  {'ok' if ok else 'OUTSIDE'}")
    print(f"\n{step['config']}, batch {batch}, seed {step['seed']}: loss s2cbam {step['loss']:.7f}, "
          f"PyTorch {loss.item():.7f}; {len(rows) - failures} of {len(rows)} within their bounds (torch {torch.__version__})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
