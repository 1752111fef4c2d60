#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang under ASan and UBSan into build-fuzz, replays
# every regression input, and fuzzes each target for SECONDS (default 20), then prints the executions
# and coverage each reached. A finding stops its target with the input saved as crash-*/leak-*/timeout-*
# in build-fuzz: make it a named error (or fix the crash), then add the input to
# tests/fuzz/regressions/<target>/ so that it is replayed from then on.
# Usage: scripts/fuzz.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
dir=${2:-build-fuzz}
scripts/install-deps.sh clang libclang-rt-dev >/dev/null
CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS2_FUZZ=ON -DS2_SANITIZE=ON \
  -DS2_CUDA=OFF -DS2_MPI=OFF -DS2_BUILD_TESTS=OFF -DS2_FUZZ_SECONDS="$seconds" >/dev/null
cmake --build "$dir" -j "$(nproc)" --target fuzz_targets
log="$dir/fuzz.log"
status=0
(cd "$dir" && ctest --output-on-failure -V -R '^fuzz_') >"$log" 2>&1 || status=$?
# libFuzzer's final statistics, per target: executions, edges covered, corpus size.
awk '/Test command:/ { match($0, /fuzz\/fuzz_[a-z_]+/); t = substr($0, RSTART + 5, RLENGTH - 5) }
     /stat::number_of_executed_units/ { runs[t] = $NF }
     /DONE +cov:/ { for (i = 1; i < NF; i++) { if ($i == "cov:") cov[t] = $(i + 1); if ($i == "corp:") corp[t] = $(i + 1) } }
     END { printf "%-18s %12s %8s %12s\n", "target", "executions", "edges", "corpus"
           for (t in runs) printf "%-18s %12s %8s %12s\n", t, runs[t], cov[t], corp[t] }' "$log"
grep -E "tests passed|tests failed|Failed|\*\*\*" "$log" | tail -n 12
if ((status != 0)); then  # the finding: libFuzzer's report and the input it saved
  grep -E "ERROR: |finding: |SUMMARY: |Test input written|crash-|timeout-|leak-|oom-" "$log" | head -n 40
fi
exit "$status"
