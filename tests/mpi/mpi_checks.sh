#!/usr/bin/env bash
# Multi-rank checks (framework/distributed.h), run by ctest with mpirun -np 2 on the 2-core CI machine:
#   mpi_checks.sh CHECK BIN_DIR SOURCE_DIR WORK_DIR MPIRUN
# Each check fails with a message saying what differed.
set -euo pipefail
check=$1 bin=$2 src=$3 work=$4 mpirun=$5
# CI runs as root; Open MPI refuses that unless told, and the machine has 2 cores for 2 ranks.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$work" && mkdir -p "$work"
shared=$(cd "$src/../shared/data" && pwd)

# The demo config with absolute data paths and `shards` shards per batch, as $work/NAME.toml.
config() {  # NAME MODEL_KIND SHARDS
  awk -v root="$shared" -v kind="$2" -v shards="$3" '
    /^root = / { print "root = \"" root "\""; next }
    /^batch_size = / { print; print "shards = " shards; next }
    /^\[model\]/ { print; if (kind != "paper") { print "kind = \"" kind "\""; print "dropout = 0.2" }; next }
    kind != "paper" && /^(attention|stem_width|stage_widths|reduction|spatial_kernel) = / { next }
    { print }' "$src/experiments/configs/demo_victoria.toml" > "$work/$1.toml"
}
# A small CBAM model trained briefly on the Flanders rasters, for the map checks: $work/model/model-fold1.ckpt.
raster_model() {
  "$bin/train" --config "$src/tests/data/flanders2019_tiny_cbam.toml" --out "$work/model" --threads 2 > /dev/null
}
same_files() {  # DIR_A DIR_B: every file of A has the same bytes in B
  for f in "$1"/*; do cmp "$f" "$2/$(basename "$f")" || fail "$(basename "$f") differs"; done
  echo "$(ls "$1" | wc -l) files, the same bytes"
}
checksum() { grep -o 'weights checksum (all): [0-9a-f]*' "$1" | awk '{print $4}'; }
fail() { echo "FAIL: $*"; exit 1; }
mpi() { "$mpirun" -np "$@"; }

case $check in
train_same_bits)
  # The paper network (batch norm, CBAM) in 2 shards and TempCNN (dropout) in 4 give the one-process bits
  # on 2 ranks. With 4 shards, 2 per rank, the order of the sum matters (two terms commute; four do not).
  for kind in paper tempcnn; do
    config $kind $kind "$([ $kind = paper ] && echo 2 || echo 4)"
    "$bin/train" --config "$work/$kind.toml" --epochs 2 --threads 2 --out "$work/$kind-1" > "$work/$kind-1.log"
    mpi 2 "$bin/train" --config "$work/$kind.toml" --epochs 2 --threads 1 --out "$work/$kind-2" > "$work/$kind-2.log"
    one=$(checksum "$work/$kind-1.log") two=$(checksum "$work/$kind-2.log")
    echo "$kind: 1 process $one, 2 ranks $two"
    [ -n "$one" ] && [ "$one" = "$two" ] || fail "$kind: the weights differ between 1 process and 2 ranks"
    # Rank 0 alone logs and writes: one report, one checksum line.
    [ "$(grep -c 'weights checksum' "$work/$kind-2.log")" = 1 ] || fail "$kind: more than one rank printed the report"
    cmp <(grep -v samples/s "$work/$kind-1/report.md") <(grep -v samples/s "$work/$kind-2/report.md") ||
      fail "$kind: the reports differ"
  done ;;
resume)
  # An MPI run stopped after epoch 1 and resumed gives the uninterrupted run's bits.
  config tempcnn tempcnn 2
  "$bin/train" --config "$work/tempcnn.toml" --epochs 2 --threads 2 --out "$work/whole" > "$work/whole.log"
  mpi 2 "$bin/train" --config "$work/tempcnn.toml" --epochs 1 --threads 1 --out "$work/parts" > /dev/null
  mpi 2 "$bin/train" --config "$work/tempcnn.toml" --epochs 2 --threads 1 --out "$work/parts" --resume yes \
    > "$work/resumed.log"
  grep -q "resumed from .* after epoch 1" "$work/resumed.log" || fail "the second run did not resume"
  [ "$(checksum "$work/whole.log")" = "$(checksum "$work/resumed.log")" ] || fail "the resumed run differs" ;;
spread_runs)
  # reproduce and ablate with whole runs on ranks write the serial report, byte for byte.
  config tempcnn tempcnn 1
  "$bin/reproduce" --config "$work/tempcnn.toml" --seeds 1,2,3 --epochs 1 --threads 1 --out "$work/serial" > /dev/null || true
  mpi 2 "$bin/reproduce" --config "$work/tempcnn.toml" --seeds 1,2,3 --epochs 1 --threads 1 --spread runs \
    --out "$work/spread" > "$work/spread.log" || true
  cmp "$work/serial/reproduce.md" "$work/spread/reproduce.md" || fail "reproduce: the reports differ"
  grep -c "seed [123] weights checksum" "$work/spread.log" | grep -qx 3 || fail "reproduce: not one line per seed"
  # Folds too: 2 parcel folds x 2 seeds of a raster model, 4 folds over 2 ranks.
  tiny="$src/tests/data/flanders2019_tiny_cbam.toml"
  "$bin/reproduce" --config "$tiny" --seeds 1,2 --threads 1 --out "$work/folds1" > /dev/null || true
  mpi 2 "$bin/reproduce" --config "$tiny" --seeds 1,2 --threads 1 --spread runs --out "$work/folds2" > /dev/null || true
  cmp "$work/folds1/reproduce.md" "$work/folds2/reproduce.md" || fail "reproduce over folds: the reports differ"
  sel="$src/experiments/configs/paper_victoria_select.toml"
  # Two variants with two candidates each: 8 runs over 2 ranks.
  "$bin/ablate" --config "$sel" --variants tempcnn,plain_cnn --seeds 1,2 --epochs 1 --threads 1 --out "$work/a1" > /dev/null
  mpi 2 "$bin/ablate" --config "$sel" --variants tempcnn,plain_cnn --seeds 1,2 --epochs 1 --threads 1 --spread runs \
    --out "$work/a2" > /dev/null
  # The minutes column is a timing (and "-" for runs spread over ranks); everything else is the same.
  strip() { sed -E 's/\| ([0-9.]+|-) \| (no_augment|augment)/| - | \2/' "$1"; }
  cmp <(strip "$work/a1/ablation.md") <(strip "$work/a2/ablation.md") || fail "ablate: the reports differ"
  cmp "$work/a1/folds.csv" "$work/a2/folds.csv" || fail "ablate: folds.csv differs"
  echo "reproduce and ablate: the same reports from 1 process and 2 ranks" ;;
rank_dies)
  # A rank that fails or is killed ends the job, named, instead of leaving the other waiting.
  config tempcnn tempcnn 2
  for fault in error kill; do
    if S2CBAM_FAULT=$fault:1 mpi 2 "$bin/train" --config "$work/tempcnn.toml" --epochs 1 --threads 1 \
         --out "$work/dies" > "$work/$fault.log" 2>&1; then
      fail "$fault: the job succeeded"
    fi
    grep -Eq "rank 1 of 2: error: fault injected|process rank 1 .*signal 9" "$work/$fault.log" ||
      { cat "$work/$fault.log"; fail "$fault: no message naming rank 1"; }
  done
  echo "a failing and a killed rank 1 both end the job, named" ;;
bad_rank_count)
  config tempcnn tempcnn 1
  if mpi 2 "$bin/train" --config "$work/tempcnn.toml" --epochs 1 > "$work/log" 2>&1; then fail "it ran"; fi
  grep -q "2 ranks cannot share batches of \[train\] shards = 1 equally" "$work/log" || { cat "$work/log"; fail "no message"; }
  if mpi 2 "$bin/evaluate" --checkpoint x > "$work/log2" 2>&1; then fail "evaluate ran on 2 ranks"; fi
  grep -q "this binary runs as one process; it was started as rank . of 2" "$work/log2" ||
    { cat "$work/log2"; fail "evaluate: no message"; }
  echo "a rank count that does not divide the shards, and a one-process binary, are refused" ;;
map_same_bytes)
  # Blocks computed on 2 ranks, written by rank 0 in row order: the one-process files, byte for byte.
  raster_model
  map() { "$@" --checkpoint "$work/model/model-fold1.ckpt" --input "$shared/worldcereal/flanders-2019" --block 16 \
          --probabilities yes --smooth yes --cog no; }
  map "$bin/predict_map" --out "$work/one/map.tif" --threads 2 > /dev/null
  map mpi 2 "$bin/predict_map" --out "$work/two/map.tif" --threads 1 > /dev/null
  same_files "$work/one" "$work/two" ;;
map_resume)
  # An MPI map stopped after some blocks continues from its .part files, to the uninterrupted map's bytes.
  raster_model
  map() { "$@" --checkpoint "$work/model/model-fold1.ckpt" --input "$shared/worldcereal/flanders-2019" --block 16 \
          --cog yes; }
  map "$bin/predict_map" --out "$work/one/map.tif" --threads 2 > /dev/null
  if map mpi 2 "$bin/predict_map" --out "$work/two/map.tif" --threads 1 --max-blocks 5 > "$work/stop.log" 2>&1; then
    fail "the first session did not stop"
  fi
  grep -q "interrupted after 6 of 16 blocks" "$work/stop.log" || { cat "$work/stop.log"; fail "no interruption message"; }
  map mpi 2 "$bin/predict_map" --out "$work/two/map.tif" --threads 1 > "$work/continue.log"
  grep -q "continuing .* after 6 of 16 blocks" "$work/continue.log" || fail "the second session did not continue"
  same_files "$work/one" "$work/two" ;;
*) fail "unknown check $check" ;;
esac
echo "PASS $check"
