#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the optimised build first (with the
# multi-rank tests under mpirun -np 2), then the ASan/UBSan build (which skips the tests labelled
# "slow", the ones that train networks), then the libFuzzer targets under ASan/UBSan, 15 seconds each
# after replaying every regression input. Tests run as many at a time as there are cores: the CUDA
# emulator's tests (the longest) run on one core each, and no test measures time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
(cd build && OMP_NUM_THREADS=2 ctest --output-on-failure -j "$(nproc)")
# The sanitizers instrument host code only, so the nvcc build is not repeated there. It is also the
# build without MPI (one process per binary), which must keep working; Open MPI's own allocations would
# trip LeakSanitizer anyway.
scripts/build.sh build-asan -DS2_SANITIZE=ON -DBUILD_SHARED_LIBS=ON -DS2_CUDA=OFF -DS2_MPI=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build-asan && OMP_NUM_THREADS=2 ctest --output-on-failure -LE slow -j "$(nproc)")
scripts/fuzz.sh 15 build-fuzz
