#!/usr/bin/env python3
"""Reference outputs of diffusers' multistep schedulers on a closed-form denoiser, for
crates/ode-sde-solvers/tests/peer_parity.rs (fixture: tests/fixtures/diffusers_multistep.json).

The data are the diagonal Gaussian N(mu, diag(s2)) of tests/common/gaussian.rs, whose exact
denoiser D(x; sigma) = (s2 x + sigma^2 mu)/(s2 + sigma^2) is the model: diffusers calls it on the
VP-scaled sample x / sqrt(1 + sigma^2) at its own sigma (read from the scheduler), and gets the
epsilon (x_edm - D)/sigma back. Runs in float64 except for what diffusers itself keeps in float32
(its sigma table), so the Rust side runs on the very sigma values written here.

Schedulers, all with Karras sigmas, final sigma 0 and diffusers' defaults otherwise:
  DPMSolverMultistepScheduler(dpmsolver++, solver_order 2 and 3)  lower_order_final=True
  UniPCMultistepScheduler(bh2, solver_order 2)                     lower_order_final=True

Usage: /work/peers-venv/bin/python scripts/peers/diffusers_multistep_reference.py OUT.json
"""

import json
import sys

import torch
from diffusers import DPMSolverMultistepScheduler, UniPCMultistepScheduler

MU = torch.tensor([1.0, -2.0], dtype=torch.float64)
S2 = torch.tensor([0.25, 2.25], dtype=torch.float64)


def start(sigma_max, n=16):
    """tests/common/gaussian.rs `start`: x = sigma_max * z, z from a golden-ratio sequence."""
    z = torch.empty((n, 2), dtype=torch.float64)
    for i in range(n):
        for j in range(2):
            u = ((i * 2 + j) * 0.618033988749895) % 1.0
            z[i, j] = (2.0 * u - 1.0) * 1.7
    return sigma_max * z


def denoise(x_edm, sigma):
    return (S2 * x_edm + sigma * sigma * MU) / (S2 + sigma * sigma)


def run(scheduler, steps):
    scheduler.set_timesteps(steps)
    sigmas = scheduler.sigmas.to(torch.float64)
    x_edm = start(float(sigmas[0]))
    # diffusers' samples live in VP scaling: x_vp = x_edm / sqrt(1 + sigma^2).
    sample = x_edm / torch.sqrt(1.0 + sigmas[0] ** 2)
    for i, t in enumerate(scheduler.timesteps):
        sigma = sigmas[i]
        x = sample * torch.sqrt(1.0 + sigma ** 2)
        eps = (x - denoise(x, sigma)) / sigma
        sample = scheduler.step(eps, t, sample).prev_sample
    # The last sigma is 0, where VP and EDM scalings coincide.
    return [float(s) for s in sigmas], start(float(sigmas[0])).tolist(), sample.tolist()


def main():
    cases = []
    for steps in range(3, 17):
        for name, make in [
            ("dpmpp-2m", lambda: DPMSolverMultistepScheduler(
                algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=True,
                final_sigmas_type="zero", lower_order_final=True)),
            ("dpmpp-3m", lambda: DPMSolverMultistepScheduler(
                algorithm_type="dpmsolver++", solver_order=3, use_karras_sigmas=True,
                final_sigmas_type="zero", lower_order_final=True)),
            ("unipc-bh2", lambda: UniPCMultistepScheduler(
                solver_type="bh2", solver_order=2, use_karras_sigmas=True,
                final_sigmas_type="zero", lower_order_final=True)),
        ]:
            sigmas, x0, out = run(make(), steps)
            cases.append({"sampler": name, "steps": steps, "sigmas": sigmas, "x0": x0, "out": out})
    import diffusers
    json.dump({"diffusers": diffusers.__version__, "torch": torch.__version__, "cases": cases},
              open(sys.argv[1], "w"), indent=1)


if __name__ == "__main__":
    main()
