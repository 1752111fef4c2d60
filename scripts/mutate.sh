#!/usr/bin/env bash
# Planted-bug check of the CPU side (kept out of CI: 1 to 4 minutes a mutation; ctest stops at the first failing test). Applies each line of
# scripts/mutations.txt alone to a copy of the working tree, builds it, runs the optimised suite, and
# reports whether the suite caught it (failed). Prints a score; exit status = number of missed ones.
# Each verdict names the test that caught the mutation; a suite that failed only by timing out (a loaded
# machine) is reported as TIMEOUT, neither caught nor missed, to be run again.
# Usage: scripts/mutate.sh [BUILD_ROOT] [SELECTION]   (default /tmp/s2cbam-mutate and every mutation; the
# checkout itself is untouched; SELECTION numbers the mutations from 1 in file order: N, FIRST-LAST, or a
# comma-separated list of those, e.g. 20,40-43)
# scripts/mutate.sh --check only checks that every mutation still applies (its text occurs exactly once),
# without building anything: a ctest, so that a refactor cannot silently retire a mutation.
set -uo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--check" ]]; then
  python3 - <<'PY'
import sys
bad = number = 0
for line in open("scripts/mutations.txt"):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    number += 1
    path, old, _ = line.split(" @@ ")
    count = open(path).read().count(old)
    if count != 1:
        bad += 1
        print(f"mutation {number}: the text occurs {count} times in {path}: {old}")
print(f"{number - bad} of {number} mutations apply")
sys.exit(1 if bad else 0)
PY
  exit
fi
root=${1:-/tmp/s2cbam-mutate}
selection=${2:-1-100000}
selected() {  # is mutation $1 in the selection?
  local part first last
  for part in ${selection//,/ }; do
    first=${part%-*} last=${part#*-}
    ((first <= $1 && $1 <= last)) && return 0
  done
  return 1
}
mkdir -p "$root"
rm -rf "$root/src" && mkdir -p "$root/src"
tar -C . --exclude='./build*' --exclude=./runs --exclude=./.git -cf - . | tar -C "$root/src" -m -xf -  # -m: fresh mtimes, so no object built from an earlier (mutated) copy survives
ln -sfn "$(realpath ../shared)" "$root/shared"
cmake -S "$root/src" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DS2_CUDA=OFF >/dev/null
mkdir -p "$root/logs"
caught=0 missed=0 skipped=0 timeouts=0 number=0
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  number=$((number + 1))
  selected "$number" || continue
  file=${line%% @@ *}
  rest=${line#* @@ }
  old=${rest%% @@ *}
  new=${rest#* @@ }
  target="$root/src/$file"
  count=$(python3 -c 'import sys; print(open(sys.argv[1]).read().count(sys.argv[2]))' "$target" "$old")
  if [[ "$count" != 1 ]]; then
    echo "$number SKIPPED  $file: the text occurs $count times: $old"
    skipped=$((skipped + 1))
    continue
  fi
  cp "$target" "$target.orig"
  python3 -c 'import sys; p, o, n = sys.argv[1:4]; s = open(p).read(); open(p, "w").write(s.replace(o, n, 1))' \
    "$target" "$old" "$new"
  log="$root/logs/$number.log"
  if ! cmake --build "$root/build" -j "$(nproc)" >"$log" 2>&1; then
    verdict="CAUGHT (build)"
  # mutations_apply is left out: in a mutated copy the mutation's own text is gone, so it always fails.
  elif (cd "$root/build" && OMP_NUM_THREADS=2 ctest -j 2 --timeout 1200 --stop-on-failure -E mutations_apply \
    >"$log" 2>&1); then
    verdict="MISSED"
  elif grep -q "Failed  \|\*\*\*Failed\|Exception\|SEGFAULT\|Subprocess aborted" "$log"; then
    verdict="CAUGHT by $(grep -E "(\*\*\*Failed|Exception|SEGFAULT|aborted)" "$log" | head -n 1 | sed -E 's/.*Test +#[0-9]+: ([^ .]+).*/\1/')"
  else
    verdict="TIMEOUT"
  fi
  mv "$target.orig" "$target" && touch "$target"  # newer than the mutated objects: rebuilt next time
  case "$verdict" in
    MISSED) missed=$((missed + 1)) ;;
    TIMEOUT) timeouts=$((timeouts + 1)) ;;
    *) caught=$((caught + 1)) ;;
  esac
  echo "$number $verdict  $file: $new"
done < scripts/mutations.txt
cmake --build "$root/build" -j "$(nproc)" >/dev/null 2>&1  # back to the unmutated tree
echo "caught $caught of $((caught + missed)) planted bugs; $skipped not applicable; $timeouts timed out (run them again)"
exit "$missed"
