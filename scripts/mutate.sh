#!/usr/bin/env bash
# Planted-bug check of the CPU side (kept out of CI: 1 to 4 minutes a mutation; ctest stops at the first failing test). Applies each line of
# scripts/mutations.txt alone to a copy of the working tree, builds it, runs the optimised suite, and
# reports whether the suite caught it (failed). Prints a score; exit status = number of missed ones.
# Usage: scripts/mutate.sh [BUILD_ROOT]   (default /tmp/s2cbam-mutate; the checkout itself is untouched)
set -uo pipefail
cd "$(dirname "$0")/.."
root=${1:-/tmp/s2cbam-mutate}
mkdir -p "$root"
rm -rf "$root/src" && mkdir -p "$root/src"
tar -C . --exclude='./build*' --exclude=./runs --exclude=./.git -cf - . | tar -C "$root/src" -xf -
ln -sfn "$(realpath ../shared)" "$root/shared"
cmake -S "$root/src" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DS2_CUDA=OFF >/dev/null
caught=0 missed=0 skipped=0
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  file=${line%% @@ *}
  rest=${line#* @@ }
  old=${rest%% @@ *}
  new=${rest#* @@ }
  target="$root/src/$file"
  count=$(python3 -c 'import sys; print(open(sys.argv[1]).read().count(sys.argv[2]))' "$target" "$old")
  if [[ "$count" != 1 ]]; then
    echo "SKIPPED  $file: the text occurs $count times: $old"
    skipped=$((skipped + 1))
    continue
  fi
  cp "$target" "$target.orig"
  python3 -c 'import sys; p, o, n = sys.argv[1:4]; s = open(p).read(); open(p, "w").write(s.replace(o, n, 1))' \
    "$target" "$old" "$new"
  if ! cmake --build "$root/build" -j "$(nproc)" >/dev/null 2>&1; then
    verdict="CAUGHT (build)"
  elif (cd "$root/build" && OMP_NUM_THREADS=2 ctest -j 2 --timeout 300 --stop-on-failure >/dev/null 2>&1); then
    verdict="MISSED"
  else
    verdict="CAUGHT"
  fi
  mv "$target.orig" "$target"
  [[ "$verdict" == MISSED ]] && missed=$((missed + 1)) || caught=$((caught + 1))
  echo "$verdict  $file: $new"
done < scripts/mutations.txt
cmake --build "$root/build" -j "$(nproc)" >/dev/null 2>&1  # back to the unmutated tree
echo "caught $caught of $((caught + missed)) planted bugs; $skipped not applicable"
exit "$missed"
