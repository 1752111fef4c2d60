#!/usr/bin/env python3
"""Trains the PyTorch restatement of the paper network under s2cbam's protocol, on the folds s2cbam
exported (issue #20), and compares the test accuracy with s2cbam's by a Welch t-test.

    build/experiments/export_folds --config CONFIG --out DIR --seeds 1,2,3,4,5
    python3 scripts/torch_train.py DIR [--init he|keras|torch] [--same-start] [--verbose] [--s2cbam-oa 0.91,0.89,...]

For every seed in DIR/seed<S>/ and every fold: the restatement (../shared/bench/torch_cbam_ref.py) with
the protocol's BN epsilon and momentum, Adam (learning rate, betas, epsilon), mini-batches of the
protocol's size in a fresh random order every epoch (a last batch of one sample is skipped, as s2cbam
does: batch norm needs two), mean cross-entropy, up to `epochs` epochs with early
stopping after `early_stopping_patience` epochs without a lower validation loss (or higher validation
accuracy), the best epoch's weights restored, then the test metrics. The folds' test confusions are
pooled per seed, as s2cbam does; class-weighted loss as s2cbam's, averaged as the protocol's loss_reduction
says. The initialisation is the protocol's `init` unless --init overrides it: he (s2cbam's default:
truncated He normal for the convs and the attention MLP, Glorot uniform for the head, zero biases), keras
(the same with a Glorot-uniform stem, as the notebook) or torch (PyTorch's defaults). A bias the protocol
turns off is held at zero. PyTorch's batch norm always keeps the unbiased running variance (over
batch x 360 pixels, 1.0001 times the biased one). With --same-start, each fold starts from s2cbam's own
random draws instead of PyTorch's: the initial weights and every epoch's batch order that export_folds
wrote (init/, order.npy), so both frameworks see the same start and the same batches. --verbose prints
each epoch's training loss and accuracy and each fold's test predictions per class. Needs torch and numpy
(scripts/install-torch.sh).
"""
import argparse
import copy
import json
import math
import os
import runpy
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_with_torch import jitter_by_one_rounding, load_state, trainer_loss  # noqa: E402  shared with the one-step comparison


def keras_init(net, glorot_stem):
    for name, m in net.named_modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            if name == "head" or (glorot_stem and is_stem(name)):
                torch.nn.init.xavier_uniform_(m.weight)
            else:  # He normal truncated at 2 std, rescaled to keep the std (as Keras and s2cbam)
                fan_in = m.weight[0].numel()
                std = math.sqrt(2.0 / fan_in) / 0.87962566103423978
                torch.nn.init.trunc_normal_(m.weight, 0.0, std, -2 * std, 2 * std)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)


def is_stem(name):
    return name in ("stem", "stem.0", "c0", "conv0", "stem_conv")


def hold_biases_at_zero(net, stem, mlp):
    """A bias the protocol turns off: zero and not trained, which is the same network without it."""
    for name, m in net.named_modules():
        if getattr(m, "bias", None) is None or isinstance(m, torch.nn.BatchNorm2d):
            continue
        if (stem and isinstance(m, torch.nn.Conv2d) and is_stem(name)) or (mlp and isinstance(m, torch.nn.Linear) and name != "head"):
            torch.nn.init.zeros_(m.bias)
            m.bias.requires_grad_(False)


def metrics(truth, pred, classes):
    c = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(c, (truth, pred), 1)
    return c


def summary(confusion):
    n = confusion.sum()
    oa = np.trace(confusion) / n
    pe = (confusion.sum(0) * confusion.sum(1)).sum() / n**2
    kappa = (oa - pe) / (1 - pe) if pe < 1 else 0.0
    tp = np.diag(confusion).astype(float)
    precision = np.divide(tp, confusion.sum(0), out=np.zeros_like(tp), where=confusion.sum(0) > 0)
    recall = np.divide(tp, confusion.sum(1), out=np.zeros_like(tp), where=confusion.sum(1) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=precision + recall > 0)
    present = confusion.sum(1) > 0
    return oa, kappa, f1[present].mean()


def evaluate(net, x, y):
    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(x[i:i + 256]) for i in range(0, len(x), 256)])
        loss = F.cross_entropy(logits, y).item()
    return loss, logits.argmax(1)


def load_start(net, fold_dir):
    """s2cbam's initial weights of this fold (export_folds' init/), by the restatement's names. A bias
    s2cbam's config turns off has no file; hold_biases_at_zero zeroes it afterwards."""
    init_dir = os.path.join(fold_dir, "init")
    state = {f[:-4]: np.load(os.path.join(init_dir, f)) for f in sorted(os.listdir(init_dir))}
    load_state(net, state, init_dir, complete=False)


def jitter_weights(net, seed, fold_dir):
    """Every weight jittered by one float32 rounding (compare_with_torch.jitter_by_one_rounding, r drawn
    in float32): from the same start, a run of PyTorch against itself as far apart as s2cbam and PyTorch
    are at the first step."""
    g = torch.Generator().manual_seed(seed * 1009 + sum(map(ord, os.path.basename(fold_dir))))
    jitter_by_one_rounding(net.parameters(), g, torch.float32)


def train_fold(net_cls, p, fold_dir, seed, init, verbose=False, same_start=False, jitter=False):
    load = lambda n: torch.from_numpy(np.load(os.path.join(fold_dir, n + ".npy")))
    xtr, ytr = load("x_train").unsqueeze(1), load("y_train").long()
    xte, yte = load("x_test").unsqueeze(1), load("y_test").long()
    has_val = os.path.exists(os.path.join(fold_dir, "x_validation.npy"))
    if has_val:
        xva, yva = load("x_validation").unsqueeze(1), load("y_validation").long()
    torch.manual_seed(seed)
    net = net_cls(p["classes"])
    orders = None
    if same_start:  # s2cbam's own draws: its initial weights and its epochs' batch orders
        load_start(net, fold_dir)
        orders = torch.from_numpy(np.load(os.path.join(fold_dir, "order.npy"))).long()
        if jitter:
            jitter_weights(net, seed, fold_dir)
    elif init in ("he", "keras"):
        keras_init(net, glorot_stem=init == "keras")
    hold_biases_at_zero(net, stem=not p.get("stem_bias", True), mlp=not p.get("mlp_bias", True))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eps, m.momentum = p["bn_eps"], p["bn_momentum"]
    opt = torch.optim.Adam([q for q in net.parameters() if q.requires_grad], lr=p["learning_rate"], betas=(p["adam_beta1"], p["adam_beta2"]),
                           eps=p["adam_eps"], weight_decay=p["weight_decay"])
    weights = None
    if p["class_weighted_loss"]:  # n / (classes present * count), as s2cbam and scikit-learn's 'balanced'
        counts = torch.bincount(ytr, minlength=p["classes"]).float()
        weights = torch.where(counts > 0, len(ytr) / ((counts > 0).sum() * counts.clamp(min=1)), torch.zeros(()))
    best, best_state, bad, best_epoch = math.inf, None, 0, 0
    for epoch in range(1, p["epochs"] + 1):
        net.train()
        order = orders[epoch - 1] if orders is not None else torch.randperm(len(xtr))
        loss_sum, correct = 0.0, 0
        for i in range(0, len(xtr), p["batch_size"]):
            idx = order[i:i + p["batch_size"]]
            if len(idx) < 2:  # as s2cbam: batch norm needs more than one sample
                break
            opt.zero_grad()
            logits = net(xtr[idx])
            loss = trainer_loss(logits, ytr[idx], weights, p.get("loss_reduction", "weighted_mean"), p["label_smoothing"])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == ytr[idx]).sum().item()
        if verbose:
            print(f"    epoch {epoch:3d}  loss {loss_sum / len(xtr):.4f}  acc {correct / len(xtr):.3f}", flush=True)
        if not has_val:
            best_epoch = epoch
            continue
        vloss, vpred = evaluate(net, xva, yva)
        score = vloss if p["best_epoch_by"] == "val_loss" else -(vpred == yva).float().mean().item()
        if score < best:
            best, best_state, bad, best_epoch = score, copy.deepcopy(net.state_dict()), 0, epoch
        else:
            bad += 1
            if p["early_stopping_patience"] > 0 and bad >= p["early_stopping_patience"]:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    _, pred = evaluate(net, xte, yte)
    if verbose:
        print(f"    {os.path.basename(fold_dir)}: test OA {(pred == yte).float().mean().item():.4f}, "
              f"predicted per class {torch.bincount(pred, minlength=p['classes']).tolist()}, "
              f"true {torch.bincount(yte, minlength=p['classes']).tolist()}", flush=True)
    return metrics(yte.numpy(), pred.numpy(), p["classes"]), best_epoch


def welch(a, b):
    """Welch's t statistic, its degrees of freedom and the two-sided p-value."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    # Two-sided p from the regularised incomplete beta: P(|T| > t) = I_{df/(df+t^2)}(df/2, 1/2).
    return t, df, betainc(df / 2, 0.5, df / (df + t * t))


def betainc(a, b, x):
    """Regularised incomplete beta I_x(a, b) by its continued fraction (Numerical Recipes, betacf)."""
    if x <= 0 or x >= 1:
        return float(x >= 1)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x))
    if x > (a + 1) / (a + b + 2):
        return 1 - betainc(b, a, 1 - x)
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / d if abs(d) > 1e-300 else 1e300
    h = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + num * d
            d = 1 / d if abs(d) > 1e-300 else 1e300
            c = 1 + num / c if abs(1 + num / c) > 1e-300 else 1e-300
            h *= d * c
    return front * h / a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--init", choices=["he", "keras", "torch"], default=None,
                    help="overrides the protocol's init")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--same-start", action="store_true",
                    help="start from s2cbam's initial weights and batch orders (export_folds' init/ and order.npy) "
                         "instead of PyTorch's own draws")
    ap.add_argument("--jitter", action="store_true",
                    help="with --same-start: every initial weight jittered by one float32 rounding (a second "
                         "sample of PyTorch's own run-to-run chaos from the same start)")
    ap.add_argument("--verbose", action="store_true", help="per-epoch training loss and per-fold test results")
    ap.add_argument("--s2cbam-oa", default="", help="s2cbam's per-seed test OA, comma-separated, for the t-test")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--torch-ref", default=os.path.join(here, "..", "..", "shared", "bench", "torch_cbam_ref.py"))
    a = ap.parse_args()
    if a.jitter and not a.same_start:
        sys.exit("--jitter moves s2cbam's initial weights: give --same-start too")
    torch.set_num_threads(a.threads)
    p = json.load(open(os.path.join(a.dir, "protocol.json")))
    if p["model"] != "cbam" or p["augmentation"]:
        sys.exit("torch_train.py restates the paper network without augmentation only")
    net_cls = runpy.run_path(a.torch_ref)["Net"]
    a.init = a.init or p.get("init", "he")
    oas = []
    seeds = sorted((d for d in os.listdir(a.dir) if d.startswith("seed")), key=lambda d: int(d[4:]))
    for sd in seeds:
        seed = int(sd[4:])
        pooled, epochs = None, []
        for fold in sorted(os.listdir(os.path.join(a.dir, sd))):
            c, e = train_fold(net_cls, p, os.path.join(a.dir, sd, fold), seed, a.init, a.verbose, a.same_start, a.jitter)
            pooled = c if pooled is None else pooled + c
            epochs.append(e)
        oa, kappa, f1 = summary(pooled)
        oas.append(oa)
        print(f"  seed {seed}: OA {oa:.4f}  kappa {kappa:.4f}  macro F1 {f1:.4f}  (kept epochs {epochs})", flush=True)
    start = "s2cbam's initial weights and batch orders" if a.same_start else f"{a.init} init"
    if a.jitter:
        start += ", each weight jittered by one rounding"
    print(f"PyTorch {torch.__version__} ({start}), {p['config']}: OA {np.mean(oas):.4f} +/- "
          f"{np.std(oas, ddof=1) if len(oas) > 1 else 0:.4f} over {len(oas)} seeds")
    if a.s2cbam_oa:
        s2 = [float(v) for v in a.s2cbam_oa.split(",")]
        t, df, pval = welch(s2, oas)
        se = np.std(oas, ddof=1) / math.sqrt(len(oas))
        print(f"s2cbam: OA {np.mean(s2):.4f} +/- {np.std(s2, ddof=1):.4f} over {len(s2)} seeds; "
              f"difference {np.mean(s2) - np.mean(oas):+.4f} (PyTorch's standard error {se:.4f}); "
              f"Welch t = {t:.2f}, df = {df:.1f}, p = {pval:.3f}")


if __name__ == "__main__":
    main()
