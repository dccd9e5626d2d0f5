#!/usr/bin/env bash
# Creates the Python virtual environment that the peer scripts in scripts/peers/ run in.
#
# Usage: scripts/peers/install.sh [VENV_DIR]      (default: /work/peers-venv)
#
# Why a venv outside the repository: the wheels (torch alone is ~200 MB) must not travel with
# the work tree, and the Rust build never needs them. The peers are the reference Python
# implementations we compare against:
#   torch (CPU wheel)  - the tensor library every peer is written in; the CPU index keeps the
#                        download free of CUDA libraries on machines without a GPU
#   k-diffusion        - Karras et al. 2022 samplers (Euler, Heun, DPM-Solver++ ...)
#   diffusers          - Hugging Face schedulers (DPMSolverMultistep, UniPC, DEIS ...)
#   flow_matching      - facebookresearch/flow_matching (Lipman et al. 2024) ODE solver and paths
#   torchdiffeq        - Chen et al. 2018 adaptive ODE solvers (dopri5, rk4)
#   numpy, scipy       - reference linear algebra for the oracle benchmarks
# A file VENV_DIR/.ready is touched last, so that other scripts can wait on it.
set -euo pipefail

VENV_DIR="${1:-/work/peers-venv}"
PYTHON="${PYTHON:-python3}"

"$PYTHON" -m venv "$VENV_DIR"
PIP="$VENV_DIR/bin/pip"
"$PIP" install --upgrade pip
# torch and torchvision from PyTorch's CPU index first: k-diffusion depends on torchvision, and
# resolving it from PyPI alone pulls the CUDA build of torch (several GB of nvidia-* wheels).
# Where that index cannot be reached (only PyPI is, on some build machines) the PyPI build is
# taken instead: same CPU kernels, bigger download.
if ! "$PIP" install --retries 1 --timeout 20 torch torchvision \
        --index-url https://download.pytorch.org/whl/cpu; then
    echo "install.sh: PyTorch CPU index unreachable, installing torch from PyPI" >&2
    "$PIP" install torch torchvision
fi
"$PIP" install numpy scipy k-diffusion diffusers flow_matching torchdiffeq
# k-diffusion imports clip-anytorch, which imports pkg_resources: setuptools 81 dropped it.
"$PIP" install "setuptools<81"
# Import check: fails the script if any peer cannot be loaded.
"$VENV_DIR/bin/python" - <<'PY'
import torch, numpy, scipy, k_diffusion, diffusers, flow_matching, torchdiffeq
print("peers venv ok: torch", torch.__version__, "k-diffusion", getattr(k_diffusion, "__version__", "?"),
      "diffusers", diffusers.__version__)
PY
touch "$VENV_DIR/.ready"
