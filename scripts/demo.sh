#!/usr/bin/env bash
# The main job: installs what is missing, builds, trains the paper network on the shared Victoria
# data with the demo config, evaluates it on the test file and prints the report.
# Extra arguments go to the train binary (e.g. --seed 2, --epochs 30, --threads 2).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
build/experiments/train --config experiments/configs/demo_victoria.toml --out runs/demo "$@"
