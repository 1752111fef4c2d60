#!/usr/bin/env bash
# The GPU checks on a lent GPU machine that has nvcc, cuDNN and CMake but no network and none of the
# Debian packages the build needs (see docs/gpu-results.md).
#   On a machine with network, from the repository root:  bash scripts/gpu-node.sh --prepare CARRY
#     downloads the Debian packages (fmt, doctest, cpptoml) into CARRY/debs and copies ../shared (the
#     data and the PyTorch restatement) into CARRY/shared. CARRY must be ignored by git
#     (.git/info/exclude) and travel with the working tree.
#   On the GPU machine:  bash scripts/gpu-node.sh CARRY [LOG_DIR]
#     unpacks the packages into /tmp/deps, puts CARRY/shared beside the checkout as ../shared unless one
#     is there, and runs scripts/gpu-check.sh without GDAL and MPI, against the system's cuDNN.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --prepare ]]; then
  carry=${2:?usage: gpu-node.sh --prepare CARRY}
  mkdir -p "$carry/debs" "$carry/shared"
  (cd "$carry/debs" && apt-get download libfmt-dev libfmt9 doctest-dev libcpptoml-dev)
  cp -r ../shared/data ../shared/bench "$carry/shared/"
  du -sh "$carry"
  exit 0
fi
carry=$(realpath "${1:?usage: gpu-node.sh CARRY [LOG_DIR]}")
logs=${2:-gpu-check}
for deb in "$carry"/debs/*.deb; do dpkg -x "$deb" /tmp/deps; done
[[ -e ../shared ]] || cp -r "$carry/shared" ../shared
cudnn=$(ldconfig -p | awk '/libcudnn\.so/ {print $NF; exit}')
[[ -n $cudnn ]] || cudnn=$(find / -name 'libcudnn.so*' -not -path '/proc/*' 2>/dev/null | head -1)
[[ -n $cudnn ]] || { echo "gpu-node.sh: no libcudnn.so found on this machine" >&2; exit 1; }
echo "cuDNN: $cudnn"
exec bash scripts/gpu-check.sh "$logs" -DCMAKE_PREFIX_PATH=/tmp/deps/usr -DS2_GDAL=OFF -DS2_MPI=OFF \
  -DS2_CUDNN_LIBRARY="$cudnn" -DCMAKE_CXX_FLAGS=-I/tmp/deps/usr/include
