#!/usr/bin/env bash
# Measures how s2cbam's jobs scale over threads and MPI ranks on this machine, for docs/scaling.md:
# training samples/s of the paper network (the demo config with 2 shards per batch) and map pixels/s of
# the paper network over the Flanders 2019 rasters, each for 1 rank x 1 thread, 1 rank x 2 threads and
# 2 ranks x 1 thread; then the fixed-order gradient sum alone (bench_collectives). Prints a markdown
# table. Benchmarks stay out of CI.
#   scripts/bench_scaling.sh [BUILD_DIR] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} epochs=${2:-4}
bin=$build/experiments
command -v mpirun > /dev/null ||
  { echo "error: mpirun not found: install Open MPI (Debian: openmpi-bin libopenmpi-dev) and rebuild"; exit 1; }
[ -x "$bin/train" ] || { echo "error: $bin/train not found: build first (scripts/build.sh $build)"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
shared=$(cd ../shared/data && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The demo with absolute data paths and 2 shards per batch, so that 1 and 2 ranks train the same bits.
awk -v root="$shared" '/^root = / { print "root = \"" root "\""; next }
  /^batch_size = / { print; print "shards = 2"; next } { print }' \
  experiments/configs/demo_victoria.toml > "$work/train.toml"
# The paper network briefly trained on the Flanders rasters: the model the maps are made with.
cat > "$work/raster.toml" <<TOML
[data]
format = "raster_series"
root = "$shared"
train = "worldcereal/flanders-2019"
timesteps = 36
min_class_parcels = 3
[split]
kind = "grouped_kfold"
folds = 2
validation_fraction = 0
max_pixels_per_parcel = 20
[model]
attention = "cbam"
[train]
epochs = 1
batch_size = 32
TOML
"$bin/train" --config "$work/raster.toml" --out "$work/model" --threads 2 > /dev/null

run() {  # RANKS THREADS COMMAND...: the command, under mpirun when RANKS > 1
  local ranks=$1 threads=$2
  shift 2
  if [ "$ranks" = 1 ]; then "$@" --threads "$threads"; else mpirun -np "$ranks" "$@" --threads "$threads"; fi
}
echo "| ranks x threads | training samples/s (epochs 2-$epochs, mean) | weights checksum | map pixels/s | map seconds |"
echo "|---|---|---|---|---|"
for layout in "1 1" "1 2" "2 1"; do
  set -- $layout
  log=$work/train-$1-$2.log
  run "$1" "$2" "$bin/train" --config "$work/train.toml" --epochs "$epochs" --out "$work/t-$1-$2" > "$log"
  samples=$(awk '/^epoch/ && $2 > 1 { s += $(NF - 1); n++ } END { printf "%.1f", s / n }' "$log")
  checksum=$(grep -o 'weights checksum (all): [0-9a-f]*' "$log" | awk '{print $4}')
  map_log=$work/map-$1-$2.log
  start=$(date +%s.%N)
  run "$1" "$2" "$bin/predict_map" --checkpoint "$work/model/model-fold1.ckpt" \
    --input "$shared/worldcereal/flanders-2019" --out "$work/m-$1-$2/map.tif" --block 16 > "$map_log"
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  pixels=$(grep -o 'map [0-9]*x[0-9]*' "$map_log" | head -1 | tr -dc '0-9x' | awk -Fx '{print $1 * $2}')
  printf '| %s x %s | %s | `%s` | %.0f | %.2f |\n' "$1" "$2" "$samples" "$checksum" \
    "$(echo "$pixels / $seconds" | bc -l)" "$seconds"
done
echo
# The per-batch gradient sum of data-parallel training, alone: the communication term of the model.
"$bin/bench_collectives" --shards 2
mpirun -np 2 "$bin/bench_collectives"
echo
echo "$(lscpu | grep 'Model name' | sed 's/  */ /g'); $(nproc) cores; $(mpirun --version | head -1)"
