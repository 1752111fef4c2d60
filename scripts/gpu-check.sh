#!/usr/bin/env bash
# The GPU checks, on a machine with an NVIDIA GPU and nvcc: builds for that GPU, runs the whole suite
# (with a GPU visible, ctest adds the device tests run on it), validates and times every kernel
# version on it (ablate_kernels --device cuda), and trains + evaluates the demo on it.
# Usage: scripts/gpu-check.sh [LOG_DIR] [extra CMake arguments...]   (LOG_DIR default: gpu-check)
# Every step runs under a time limit and its log lands in LOG_DIR, so a hang or a failure in one step
# still leaves the others' results. Exit status: the number of failed steps.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(realpath -m "${1:-gpu-check}")
shift || true
mkdir -p "$logs"
failed=0
step() {  # step NAME SECONDS COMMAND...
  local name=$1 seconds=$2
  shift 2
  local start=$SECONDS
  timeout "$seconds" "$@" >"$logs/$name.log" 2>&1
  local status=$?
  echo "step $name: exit $status after $((SECONDS - start)) s" | tee -a "$logs/steps.txt"
  ((status == 0)) || failed=$((failed + 1))
  return $status
}
nvidia-smi >"$logs/nvidia-smi.txt" 2>&1
step configure 120 cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DS2_CUDA_ARCHITECTURES=native "$@" || exit 1
step build 400 cmake --build build-gpu -j "$(nproc)" || exit 1
# S2_CTEST_EXCLUDE (a ctest -E regex) leaves out tests, e.g. the emulated kernel suites a CPU machine runs.
step ctest 300 bash -c "cd build-gpu && ctest --output-on-failure -j 6 ${S2_CTEST_EXCLUDE:+-E '$S2_CTEST_EXCLUDE'}"
step ablate_kernels 120 build-gpu/experiments/ablate_kernels --device cuda
step demo 180 build-gpu/experiments/train --config experiments/configs/demo_victoria.toml --device cuda \
  --out "$logs/demo"
# The tensor-core convs (opt-in reduced precision): the same demo with TF32 and with BF16 convs.
for v in 4 5; do
  step demo-conv$v 180 build-gpu/experiments/train --config experiments/configs/demo_victoria.toml \
    --device cuda --kernels conv2d=$v --out "$logs/demo-conv$v"
done
exit $failed
