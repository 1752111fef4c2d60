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
# Every kernel version validated and timed, the framework's step, and PyTorch's step on the same GPU.
step ablate_kernels 240 build-gpu/experiments/ablate_kernels --device cuda
# Out-of-bounds and misaligned device accesses in every kernel version and the framework's step.
if command -v compute-sanitizer >/dev/null; then
  step memcheck 180 compute-sanitizer --tool memcheck --error-exitcode 9 \
    build-gpu/experiments/ablate_kernels --device cuda --repeats 1 --batch 8 --torch-python /bin/false
fi
step demo 180 build-gpu/experiments/train --config experiments/configs/demo_victoria.toml --device cuda \
  --out "$logs/demo"
# The tensor-core convs (opt-in reduced precision): the same demo with TF32 and with BF16 convs.
for v in 4 5; do
  step demo-conv$v 180 build-gpu/experiments/train --config experiments/configs/demo_victoria.toml \
    --device cuda --kernels conv2d=$v --out "$logs/demo-conv$v"
done
# Where a tensor-core conv's time goes, for the next kernel version: Nsight Compute's sections for the
# three TF32 GEMMs (forward, input and weight gradients) of the 256 -> 256 conv, the 9th conv case, each
# case running 3 GEMMs 3 times (validation, warm-up, one timed repeat).
if command -v ncu >/dev/null; then
  step ncu-conv-v4 150 ncu --kernel-name-base demangled --kernel-name regex:gemm_mma_kernel --launch-skip 72 \
    --launch-count 3 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section SchedulerStats --section WarpStateStats \
    --section Occupancy build-gpu/experiments/ablate_kernels --device cuda --ops conv2d --versions 4 \
    --repeats 1 --step no
fi
# Data-parallel shards in one process (the host's fixed-order sum of device gradients), 2 epochs.
mkdir -p build-gpu/configs  # as deep as experiments/configs, so the config's relative data root holds
sed 's/^seed = 1$/seed = 1\nshards = 2/' experiments/configs/demo_victoria.toml >build-gpu/configs/demo_shards2.toml
step demo-shards2 120 build-gpu/experiments/train --config build-gpu/configs/demo_shards2.toml --device cuda \
  --epochs 2 --out "$logs/demo-shards2"
exit $failed
