#!/usr/bin/env python3
"""Does s2cbam compute the same training step as PyTorch? (issue #20)

Loads what `export_step` wrote (the paper network's weights, a batch of real pixels, s2cbam's logits,
loss, gradients, the weights after one Adam step and the inference-mode logits after it) into the PyTorch restatement of the network
(../shared/bench/torch_cbam_ref.py), runs the same step there with the same conventions (BN epsilon and
momentum, Adam's epsilon, the trainer's class-weighted loss and its reduction), and compares every tensor within a bound derived from
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


def load_state(net, state, where, complete=True):
    """Copies `state` (s2cbam's names -> arrays) into the restatement, checking every shape and, when
    `complete`, that every PyTorch tensor but the batch counters has an s2cbam counterpart."""
    current = net.state_dict()
    for name, value in state.items():
        t = torch_name(name)
        if current[t].shape != value.shape:
            sys.exit(f"{where}: {name} -> {t}: shape {tuple(value.shape)} against PyTorch's {tuple(current[t].shape)}")
        current[t].copy_(torch.from_numpy(np.asarray(value)))
    missing = {k for k in current if not k.endswith("num_batches_tracked")} - {torch_name(n) for n in state}
    if complete and missing:
        sys.exit(f"{where}: PyTorch parameters with no s2cbam counterpart: {sorted(missing)}")


def make_net(torch_ref, step, state, where):
    """The restatement with `state` (s2cbam's names) loaded and the step's batch-norm conventions
    (s2cbam's momentum is the fraction of the batch statistic mixed in: PyTorch's convention)."""
    net = runpy.run_path(torch_ref)["Net"](step["classes"])
    load_state(net, state, where)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eps, m.momentum = step["bn_eps"], step["bn_momentum"]
    return net


def make_adam(net, step):
    """Adam (AdamW when the step decays weights) with the step's hyper-parameters."""
    opt_cls = torch.optim.AdamW if step["weight_decay"] > 0 else torch.optim.Adam
    return opt_cls(net.parameters(), lr=step["lr"], betas=(step["beta1"], step["beta2"]), eps=step["adam_eps"],
                   weight_decay=step["weight_decay"])


def jitter_by_one_rounding(params, generator, draw_dtype=torch.float64):
    """Every weight times the float32 nearest (1 + U r), r uniform in [-1, 1]: about a quarter of the
    weights move by one unit in the last place, the size of the difference between two correct
    implementations. r is drawn in `draw_dtype`: float64 for the trajectory envelope here, float32 for
    torch_train.py --jitter (the draws behind each recorded figure)."""
    with torch.no_grad():
        for p in params:
            r = torch.rand(p.shape, generator=generator, dtype=draw_dtype) * 2 - 1
            p.mul_((1 + U * r).float())


def train_steps(net, step, xs, ys, jitter=None):
    """Adam steps over the batches xs[k], ys[k] with the trainer's loss; returns each step's loss. With
    `jitter` (a generator), the weights get jitter_by_one_rounding after each step: one float32
    rounding's worth of noise, the size of what two frameworks' roundings differ by."""
    opt = make_adam(net, step)
    net.train()
    losses = []
    for x, y in zip(xs, ys):
        opt.zero_grad()
        loss = step_loss(net(x), y, step)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if jitter is not None:
            jitter_by_one_rounding(net.parameters(), jitter)
    return np.array(losses)


def flat_weights(state_items):
    return np.concatenate([np.asarray(v, np.float64).ravel() for k, v in state_items if "running" not in k])


def compare_trajectory(a, step, before):
    """s2cbam's K steps against PyTorch's from the same weights over the same batches, beside how far
    PyTorch drifts from itself under one rounding of noise per step (the envelope of float32 chaos)."""
    d = os.path.join(a.dir, "trajectory")
    xs = torch.from_numpy(np.load(os.path.join(d, "x.npy")))
    ys = torch.from_numpy(np.load(os.path.join(d, "y.npy"))).long()
    s2_losses = np.load(os.path.join(d, "losses.npy")).astype(np.float64)
    s2_after = load_dir(os.path.join(d, "after"))
    names = sorted(s2_after)
    net = make_net(a.torch_ref, step, before, os.path.join(a.dir, "before"))
    torch_losses = train_steps(net, step, xs, ys)
    torch_state = {n: net.state_dict()[torch_name(n)].numpy() for n in names}
    envelopes = []
    for k in range(a.envelope_runs):
        jittered = make_net(a.torch_ref, step, before, os.path.join(a.dir, "before"))
        losses = train_steps(jittered, step, xs, ys, jitter=torch.Generator().manual_seed(1000 + k))
        state = {n: jittered.state_dict()[torch_name(n)].numpy() for n in names}
        envelopes.append((losses, state))
    w_t = flat_weights((n, torch_state[n]) for n in names)
    drift = lambda state: float(np.linalg.norm(flat_weights((n, state[n]) for n in names) - w_t) / np.linalg.norm(w_t))
    print(f"\ntrajectory: {len(s2_losses)} Adam steps of batch {xs.shape[1]} from the same weights over the same batches")
    print(f"{'step':>5}  {'s2cbam loss':>12}  {'PyTorch loss':>12}  {'|s2cbam - PyTorch|':>18}  {'PyTorch jittered, max |diff|':>28}")
    env_loss = np.max([np.abs(e[0] - torch_losses) for e in envelopes], axis=0)
    for k in range(len(s2_losses)):
        if k < 5 or (k + 1) % 10 == 0 or k == len(s2_losses) - 1:
            print(f"{k + 1:>5}  {s2_losses[k]:>12.6f}  {torch_losses[k]:>12.6f}  {abs(s2_losses[k] - torch_losses[k]):>18.3g}  {env_loss[k]:>28.3g}")
    s2_drift = drift(s2_after)
    env_drifts = [drift(e[1]) for e in envelopes]
    print(f"weights after step {len(s2_losses)}, |w - w_PyTorch| / |w_PyTorch|: s2cbam {s2_drift:.3g}; "
          f"PyTorch jittered by one rounding per step: {', '.join(f'{v:.3g}' for v in env_drifts)}")
    return s2_drift, max(env_drifts)


def trainer_loss(logits, y, weights, reduction, smoothing):
    """s2cbam's training loss: cross-entropy with optional class weights, a class-weighted one averaged
    over the batch ("batch_mean", Keras's) or over the batch's weights ("weighted_mean", PyTorch's)."""
    if weights is not None and reduction == "batch_mean":
        return F.cross_entropy(logits, y, weight=weights, label_smoothing=smoothing, reduction="sum") / len(y)
    return F.cross_entropy(logits, y, weight=weights, label_smoothing=smoothing)


def step_loss(logits, y, step):
    """trainer_loss with the settings step.json records."""
    weights = torch.tensor(step["class_weights"], dtype=torch.float32) if step.get("class_weights") else None
    return trainer_loss(logits, y, weights, step.get("loss_reduction"), step.get("label_smoothing", 0.0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--envelope-runs", type=int, default=3,
                    help="jittered PyTorch runs that measure the float32 envelope of a trajectory (export_step --steps)")
    ap.add_argument("--torch-ref", default=os.path.join(here, "..", "..", "shared", "bench", "torch_cbam_ref.py"))
    a = ap.parse_args()
    step = json.load(open(os.path.join(a.dir, "step.json")))
    before, grads, after = (load_dir(os.path.join(a.dir, d)) for d in ("before", "grad", "after"))
    x = torch.from_numpy(np.load(os.path.join(a.dir, "x.npy")))
    y = torch.from_numpy(np.load(os.path.join(a.dir, "y.npy"))).long()
    s2_logits = np.load(os.path.join(a.dir, "logits.npy"))

    torch.manual_seed(0)
    torch.set_num_threads(2)
    net = make_net(a.torch_ref, step, before, os.path.join(a.dir, "before"))
    opt = make_adam(net, step)
    net.train()
    logits = net(x)
    loss = step_loss(logits, y, step)
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
    # Inference mode, which test accuracy rests on: s2cbam's weights and running statistics after the
    # step, loaded as they are, and batch norm from the running statistics.
    eval_path = os.path.join(a.dir, "eval_logits.npy")
    if os.path.exists(eval_path):
        eval_net = make_net(a.torch_ref, step, after, os.path.join(a.dir, "after"))
        eval_net.eval()
        with torch.no_grad():
            el = eval_net(x).numpy()
        check("eval logits", np.load(eval_path), el, 2 * gamma(chain) * np.abs(el).max())
    flip_share = flips / max(total, 1)
    rows.append((f"weights that stepped the other way: {flips} of {total}", flip_share, 0.01, flip_share <= 0.01))
    failures += 0 if flip_share <= 0.01 else 1

    width = max(len(r[0]) for r in rows)
    print(f"{'tensor':<{width}}  {'max |s2cbam - torch|':>20}  {'bound':>10}  verdict")
    for what, err, bound, ok in rows:
        print(f"{what:<{width}}  {err:>20.3g}  {bound:>10.3g}  {'ok' if ok else 'OUTSIDE'}")
    print(f"\n{step['config']}, batch {batch}, seed {step['seed']}: loss s2cbam {step['loss']:.7f}, "
          f"PyTorch {loss.item():.7f}; {len(rows) - failures} of {len(rows)} within their bounds (torch {torch.__version__})")
    if step.get("steps", 1) > 1:
        s2_drift, envelope = compare_trajectory(a, step, before)
        # Two implementations of the same arithmetic drift apart as fast as one does under rounding noise;
        # a real difference (a convention, a bug that one step hides) drifts faster than every jittered run.
        ok = s2_drift <= 2 * envelope
        print(f"trajectory: s2cbam's drift {s2_drift:.3g} against the envelope's largest {envelope:.3g}: "
              f"{'within twice the envelope' if ok else 'OUTSIDE twice the envelope'}")
        failures += 0 if ok else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
