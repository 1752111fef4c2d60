#!/usr/bin/env python3
"""PyTorch's training step of the paper network on a GPU: the baseline ablate_kernels --device cuda
prints its own step against, measured in the same run.

Usage: python3 scripts/torch_gpu_step.py TORCH_REF [BATCH] [STEPS]
TORCH_REF is the PyTorch restatement of the network (../shared/bench/torch_cbam_ref.py, class Net).
One step is forward, cross-entropy, backward and Adam, as s2cbam's PaperTrainingStep. Three modes, each
with cuDNN's autotuner on (PyTorch at its fastest on these shapes, not at its defaults):
  fp32  float32 convolutions and matrix products, TF32 off: the arithmetic of s2cbam's default kernels
  tf32  TF32 tensor cores for convolutions and matrix products: against s2cbam's conv2d=4
  bf16  autocast to bfloat16: against s2cbam's conv2d=5
Prints one line per mode: "step_ms MODE MILLISECONDS", then "torch_version VERSION".
"""
import runpy
import sys

import torch
import torch.nn.functional as F


def time_steps(net_cls, batch, steps, mode):
    torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
    torch.backends.cudnn.allow_tf32 = mode == "tf32"
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)
    net = net_cls().cuda()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x = torch.randn(batch, 1, 36, 10, device="cuda")
    y = torch.randint(0, 5, (batch,), device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=mode == "bf16"):
            loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(5):  # autotuning and the allocator's first blocks
        step()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(steps):
        step()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / steps


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ref = runpy.run_path(sys.argv[1])
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    if not torch.cuda.is_available():
        sys.exit("no CUDA device visible to PyTorch")
    for mode in ("fp32", "tf32", "bf16"):
        print(f"step_ms {mode} {time_steps(ref['Net'], batch, steps, mode):.4f}", flush=True)
    print("torch_version", torch.__version__)


if __name__ == "__main__":
    main()
