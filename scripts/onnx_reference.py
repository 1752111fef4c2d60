#!/usr/bin/env python3
"""onnxruntime on s2cbam's ONNX exports: the reference tests/test_interop.cpp compares predict's
probabilities with, committed so that CI needs no onnxruntime.

    python3 scripts/onnx_reference.py BUILD_DIR           # regenerate the committed files
    python3 scripts/onnx_reference.py BUILD_DIR --check   # compare with them (exit 77: no onnxruntime)

It runs test_interop with S2_WRITE_INTEROP_FIXTURE set, which writes the exports (the paper network, an
ablation and TempCNN, seeded weights) and the normalised Victoria test set; checks each model with
onnx.checker when onnx is installed; runs it in onnxruntime on one thread (so that a rerun gives the
same bits); and writes tests/data/onnx_<name>_probabilities.npy and the FNV-1a of each export's bytes in
tests/data/onnx_exports.txt. --check requires the same bytes and the same probabilities bit for bit."""
import argparse, os, subprocess, sys, tempfile

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as e:
    print(f"{e.name} is not installed: nothing to check (pip install onnxruntime)")
    sys.exit(77)

MODELS = ["paper", "spatial_no_skip", "tempcnn"]


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.path.join(here, "..", "tests", "data")
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, S2_WRITE_INTEROP_FIXTURE=d)
        subprocess.run([os.path.join(a.build, "tests", "test_interop"), "-tc=ONNX*"], env=env,
                       stdout=subprocess.DEVNULL, check=False)
        x = np.load(os.path.join(d, "victoria_test_x.npy"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        lines, failed = [], False
        for name in MODELS:
            path = os.path.join(d, name + ".onnx")
            data = open(path, "rb").read()
            try:
                import onnx
                onnx.checker.check_model(onnx.load(path), full_check=True)
            except ImportError:
                pass
            probs = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"]).run(
                ["probabilities"], {"x": x})[0].astype(np.float32)
            out = os.path.join(fixtures, f"onnx_{name}_probabilities.npy")
            lines.append(f"{name} {fnv1a(data)}")
            if a.check:
                same = np.array_equal(np.load(out), probs)
                print(f"{name}: {'same' if same else 'DIFFERENT'} probabilities from onnxruntime {ort.__version__}")
                failed |= not same
            else:
                np.save(out, probs)
                print(f"{name}: {len(data)} bytes, probabilities {probs.shape} -> {out}")
        hashes = os.path.join(fixtures, "onnx_exports.txt")
        if a.check:
            same = open(hashes).read().split("\n")[1:-1] == lines
            print(f"exports: {'the committed bytes' if same else 'CHANGED since the reference was made'}")
            failed |= not same
        else:
            with open(hashes, "w") as f:
                f.write(f"# FNV-1a of each export checked by onnxruntime {ort.__version__} (scripts/onnx_reference.py)\n")
                f.write("\n".join(lines) + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
