#!/usr/bin/env python3
"""Reference outputs of k-diffusion's `sample_dpm_adaptive` on a closed-form problem.

The data distribution is the diagonal Gaussian N(mu, diag(s2)) of
crates/ode-sde-solvers/tests/common/gaussian.rs, whose denoiser is
D(x; sigma) = (s2 * x + sigma^2 * mu) / (s2 + sigma^2), evaluated in float64. For each case the
script runs k-diffusion's DPM-Solver-12/23 with eta = 0 from sigma_max to sigma_min on a fixed
batch of 16 two-dimensional starting points and records the inputs, the output at sigma_min,
k-diffusion's own counters (nfe, n_accept, n_reject) and how far the output moves when the input
is scaled by 1 +- 1e-15 (rounding_sensitivity, the scale of any faithful re-implementation's
rounding differences). The Rust test
(tests/sampler_order_fewstep.rs, `dpm_adaptive_matches_k_diffusion`) reproduces the outputs and
counts from the fixture.

Needs torch and k-diffusion, installed outside the repository, e.g.

  python3 -m venv /work/venv-kd
  /work/venv-kd/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
  /work/venv-kd/bin/pip install k-diffusion

Run from the repository root:

  /work/venv-kd/bin/python scripts/peers/dpm_adaptive_reference.py \
      > crates/ode-sde-solvers/tests/fixtures/dpm_adaptive_k_diffusion.json
"""

import json
import math
import sys

import torch

# k_diffusion/__init__.py imports its CLIP-based evaluation module; only `sampling` is needed.
try:
    from k_diffusion import sampling
except ImportError:  # pragma: no cover - depends on the environment
    import importlib.util
    import pathlib
    import types

    spec = importlib.util.find_spec("k_diffusion")
    root = pathlib.Path(spec.submodule_search_locations[0])
    package = types.ModuleType("k_diffusion")
    package.__path__ = [str(root)]
    sys.modules["k_diffusion"] = package
    utils = types.ModuleType("k_diffusion.utils")  # sampling uses utils only for append_dims
    utils.append_dims = lambda x, n: x[(...,) + (None,) * (n - x.ndim)]
    sys.modules["k_diffusion.utils"] = utils
    package.utils = utils
    spec = importlib.util.spec_from_file_location("k_diffusion.sampling", root / "sampling.py")
    sampling = importlib.util.module_from_spec(spec)
    sys.modules["k_diffusion.sampling"] = sampling
    spec.loader.exec_module(sampling)

from importlib.metadata import version  # noqa: E402

# torch.tensor(sigma) inside sample_dpm_adaptive, and its atol/rtol tensors, take this dtype.
torch.set_default_dtype(torch.float64)

MU = torch.tensor([1.0, -2.0])
S2 = torch.tensor([0.25, 2.25])
SIGMA_MAX = 20.0
SIGMA_MIN = 0.01


def denoiser(x, sigma):
    """D(x; sigma) of N(MU, diag(S2)); sigma has one entry per sample."""
    s2 = sigma[:, None] ** 2
    return (S2 * x + s2 * MU) / (S2 + s2)


def start(sigma_max):
    """16 fixed, roughly normal starting points scaled by sigma_max (as gaussian.rs's start)."""
    rows = []
    for i in range(16):
        row = []
        for j in range(2):
            u = math.modf((i * 2 + j) * 0.618033988749895)[0]
            row.append(sigma_max * (2.0 * u - 1.0) * 1.7)
        rows.append(row)
    return torch.tensor(rows)


CASES = [
    {"name": "order3-defaults", "order": 3},
    {"name": "order2-defaults", "order": 2},
    {"name": "order3-tight", "order": 3, "rtol": 1e-3, "atol": 1e-4},
    {"name": "order2-tight", "order": 2, "rtol": 1e-3, "atol": 1e-4},
    {"name": "order3-pid", "order": 3, "rtol": 1e-2, "atol": 1e-3, "h_init": 0.5,
     "pcoeff": 0.3, "icoeff": 0.8, "dcoeff": 0.1, "accept_safety": 0.9},
]


def main():
    x0 = start(SIGMA_MAX)
    out = {
        "source": "k-diffusion " + version("k-diffusion")
        + ", sampling.sample_dpm_adaptive, eta = 0, float64",
        "torch": torch.__version__,
        "mu": MU.tolist(),
        "s2": S2.tolist(),
        "sigma_max": SIGMA_MAX,
        "sigma_min": SIGMA_MIN,
        "x0": x0.tolist(),
        "cases": [],
    }
    for case in CASES:
        kwargs = {k: v for k, v in case.items() if k != "name"}
        x, info = sampling.sample_dpm_adaptive(
            denoiser, x0.clone(), SIGMA_MIN, SIGMA_MAX, disable=True, return_info=True, **kwargs
        )
        # The accepted steps depend on the error norm of x_low - x_high, a difference of nearly
        # equal states, so rounding moves the output by more than an ulp: measure how much by
        # re-running from x0 scaled by 1 +- 1e-15.
        sensitivity = 0.0
        for scale in (1.0 + 1e-15, 1.0 - 1e-15):
            y = sampling.sample_dpm_adaptive(
                denoiser, x0 * scale, SIGMA_MIN, SIGMA_MAX, disable=True, **kwargs
            )
            sensitivity = max(sensitivity, (y - x).abs().max().item())
        out["cases"].append({
            "name": case["name"],
            "options": kwargs,
            "x": x.tolist(),
            "nfe": info["nfe"],
            "n_accept": info["n_accept"],
            "n_reject": info["n_reject"],
            "rounding_sensitivity": sensitivity,
        })
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
