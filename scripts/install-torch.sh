#!/usr/bin/env bash
# Installs current PyTorch and NumPy from PyPI into a virtual environment outside the source tree, for
# the comparisons with PyTorch (scripts/compare_with_torch.py). Prints the environment's python.
# Usage: scripts/install-torch.sh [VENV_DIR]   (default: $S2CBAM_TORCH_VENV or ~/.cache/s2cbam/torch-venv)
set -euo pipefail
venv=${1:-${S2CBAM_TORCH_VENV:-$HOME/.cache/s2cbam/torch-venv}}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import torch, numpy" 2>/dev/null || "$venv/bin/pip" install -q torch numpy
"$venv/bin/python" -c "import torch; print('torch', torch.__version__)" >&2
echo "$venv/bin/python"
