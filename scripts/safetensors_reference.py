#!/usr/bin/env python3
"""The logits of PyTorch's statement of the paper network (../shared/bench/torch_cbam_ref.py) on weights
that s2cbam exported as safetensors: the reference tests/test_interop.cpp compares with, committed as
tests/data/torch_cbam_ref_logits.npy so CI needs no PyTorch.

    python3 scripts/safetensors_reference.py BUILD_DIR [--torch-ref ../shared/bench/torch_cbam_ref.py]
    python3 scripts/safetensors_reference.py BUILD_DIR --check   # compare (exit 77: no torch or safetensors)

It runs test_interop with S2_WRITE_INTEROP_FIXTURE set, which writes the exported file and the input;
loads the file with load_state_dict(strict=True), so every name and shape must match; sets each batch
norm's epsilon from the file's metadata; and saves the eval-mode float32 logits, computed on one
thread so that a rerun gives the same bits. --check accepts the same bits, or, from another PyTorch build
or CPU, logits within test_interop's float32 bound. Needs torch and safetensors (pip)."""
import argparse, importlib.util, math, os, subprocess, sys, tempfile

try:
    import numpy as np
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file
except ImportError as e:
    print(f"{e.name} is not installed: nothing to check (pip install torch safetensors)")
    sys.exit(77)


def check(fixture, logits, chain, path):
    """0 when this PyTorch's logits are the fixture's, or within the bound test_interop holds s2cbam to:
    two float32 evaluations of the inference chain, probabilistic with lambda = 8 (another PyTorch build
    or CPU sums in another order, so the bits may differ); 1 otherwise."""
    if np.array_equal(fixture, logits):
        print(f"torch {torch.__version__}: the same logits as {path}")
        return 0
    u = 2.0 ** -24
    bound = 2 * math.expm1(8.0 * math.sqrt(chain) * u + chain * u * u / (1 - u)) * np.abs(fixture).max()
    diff = np.abs(fixture - logits).max()
    ok = diff <= bound
    print(f"torch {torch.__version__}: logits differ from {path} by up to {diff:.3g}: "
          f"{'within' if ok else 'OUTSIDE'} the float32 bound {bound:.3g} (chain {chain})")
    return 0 if ok else 1


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--torch-ref", default=os.path.join(here, "..", "..", "shared", "bench", "torch_cbam_ref.py"))
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    spec = importlib.util.spec_from_file_location("torch_cbam_ref", a.torch_ref)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, S2_WRITE_INTEROP_FIXTURE=d)
        subprocess.run([os.path.join(a.build, "tests", "test_interop"), "-tc=PyTorch*"], env=env,
                       stdout=subprocess.DEVNULL, check=False)
        path = os.path.join(d, "paper.safetensors")
        with safe_open(path, "pt") as f:
            meta = f.metadata()
        classes = meta["classes"].split(",")
        net = ref.Net(len(classes))
        net.load_state_dict(load_file(path), strict=True)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eps = float(meta["bn_epsilon"])
        net.eval()
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy")))
        with torch.no_grad():
            logits = net(x).numpy().astype(np.float64)
        with open(os.path.join(d, "chain.txt")) as f:
            chain = int(f.read())
    out = os.path.join(here, "..", "tests", "data", "torch_cbam_ref_logits.npy")
    if a.check:
        sys.exit(check(np.load(out), logits, chain, out))
    np.save(out, logits)
    print(f"torch {torch.__version__}: logits {logits.shape} -> {out}")


if __name__ == "__main__":
    main()
