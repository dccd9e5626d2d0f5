#!/usr/bin/env python3
"""SDE noise and likelihood against the Python peers, single thread, float64, interleaved.

  sde         k-diffusion sample_dpmpp_2m_sde with its BrownianTreeNoiseSampler against
              `scoreflow sample-analytic --sampler dpmpp-2m-sde` (per-sample Brownian trees),
              64-D mixture, 4,096 points, 50 Karras steps on [0.002, 80]; the ODE sampler
              dpmpp-2m on both sides shows what the noise adds.
  hutchinson  k-diffusion log_likelihood (one Rademacher probe, dopri5) against
              `scoreflow nll-analytic --hutchinson 1`, gauss16d, 8,192 points, σ ∈ [1e-5, 80].
  accuracy    the Hutchinson likelihood's solver error at equal probes: each side at each of
              --accuracy-tols against its own solution at --reference-tol with the same probes
              (the same torch seed for k-diffusion, the same --seed for scoreflow), so the
              probes' noise (~1.7 nats here, the same on both sides) cancels and what remains is
              the ODE solver's error, to compare time at equal accuracy: the two sides apply
              rtol differently to the log-density accumulator (torchdiffeq: to ℓ; scoreflow: to
              ℓ/d), so equal tolerances are not equal accuracy.
  exact       flow_matching ODESolver.compute_likelihood(exact_divergence=True, dopri5) at
              atol = rtol = 1e-7 against `scoreflow nll-analytic` (closed-form trace),
              gauss16d, 1,024 points; MAE against the closed-form log-density.

Times are the sampling / likelihood call alone (the CLI's reported "seconds"), medians of
--reps interleaved runs. The mixture is the same on both sides (scripts/peers/mixture.py
writes it as JSON for the CLI).

  /work/peers-venv/bin/python scripts/peers/bench_sde_likelihood.py \
      --scoreflow /work/wt-d-bin/scoreflow --reps 3 --out bench-out/peers
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mixture import TorchMixture, splitmix_mixture, write_json  # noqa: E402

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


def ours(binary, args):
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    out = subprocess.run([binary, *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def save_npy(path, a):
    np.save(path, np.ascontiguousarray(a, dtype=np.float64))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--scoreflow", required=True)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--out", default="bench-out/peers")
    p.add_argument("--tasks", default="sde,hutchinson,exact")
    p.add_argument("--hutchinson-tol", type=float, default=1e-4)
    p.add_argument("--exact-tol", type=float, default=1e-7, help="flow_matching's atol = rtol")
    p.add_argument("--ours-exact-tol", type=float, default=1e-7)
    p.add_argument("--exact-points", type=int, default=1024)
    p.add_argument("--accuracy-tols", default="1e-3,1e-4,1e-5")
    p.add_argument("--reference-tol", type=float, default=1e-9)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tasks = a.tasks.split(",")
    rows = {}

    def record(name, seconds, **extra):
        r = rows.setdefault(name, {"seconds": []})
        r["seconds"].append(seconds)
        r.update(extra)
        print(f"{name}: {seconds:.3f} s {extra}", file=sys.stderr, flush=True)

    # Targets and inputs.
    w64 = splitmix_mixture(64)
    m64 = TorchMixture(*w64)
    mix64 = os.path.join(a.out, "mix64.json")
    write_json(mix64, *w64)
    m16 = TorchMixture(*splitmix_mixture(16))
    z = np.random.default_rng(0).standard_normal((4096, 64))
    znpy = os.path.join(a.out, "z64.npy")
    save_npy(znpy, z)
    xh = m16.sample(8192, 1)
    xh_npy = os.path.join(a.out, "x16_8192.npy")
    save_npy(xh_npy, xh.numpy())
    xe = m16.sample(a.exact_points, 2)
    xe_npy = os.path.join(a.out, "x16_exact.npy")
    save_npy(xe_npy, xe.numpy())
    exact_h = -m16.log_prob(xh, 0.0)
    exact_e = -m16.log_prob(xe, 0.0)

    import k_diffusion.sampling as K
    from flow_matching.solver import ODESolver
    from flow_matching.utils import ModelWrapper

    sigmas = K.get_sigmas_karras(50, 0.002, 80.0, rho=7.0, device="cpu").to(torch.float64)

    class Velocity(ModelWrapper):
        def __init__(self, m):
            super().__init__(torch.nn.Identity())
            self.m = m

        def forward(self, x, t, **extras):
            return self.m.condot_velocity(x, t)

    std_normal = lambda x: -0.5 * (x * x).sum(1) - 0.5 * x.shape[1] * np.log(2 * np.pi)  # noqa: E731

    for rep in range(a.reps):
        if "sde" in tasks:
            x = torch.tensor(z) * 80.0
            for sampler in ["dpmpp_2m_sde", "dpmpp_2m"]:
                t0 = time.perf_counter()
                getattr(K, f"sample_{sampler}")(m64.denoise, x.clone(), sigmas, disable=True)
                record(f"k-diffusion {sampler}", time.perf_counter() - t0)
            ns = K.BrownianTreeNoiseSampler(x, sigmas[-2], sigmas[0])
            t0 = time.perf_counter()
            for i in range(len(sigmas) - 2):
                ns(sigmas[i], sigmas[i + 1])
            record("k-diffusion BrownianTreeNoiseSampler alone", time.perf_counter() - t0)
            for sampler in ["dpmpp-2m-sde", "dpmpp-2m"]:
                r = ours(a.scoreflow, ["sample-analytic", "--target", mix64, "--noise", znpy,
                                       "--out", os.path.join(a.out, "ours.npy"), "--sampler", sampler,
                                       "--steps", "50", "--sigma-min", "0.002", "--sigma-max", "80"])
                record(f"scoreflow {sampler}", r["seconds"])
        if "hutchinson" in tasks:
            tol = a.hutchinson_tol
            torch.manual_seed(rep)
            t0 = time.perf_counter()
            ll, info = K.log_likelihood(m16.denoise, xh.clone(), 1e-5, 80.0, atol=tol, rtol=tol)
            secs = time.perf_counter() - t0
            # k-diffusion's prior is N(0, 80²I); the exact one differs by ~1e-3 nats here.
            mae = (-ll - exact_h).abs().mean().item()
            record(f"k-diffusion log_likelihood (Hutchinson, tol {tol:g})", secs, nfe=info["fevals"], mae=mae)
            r = ours(a.scoreflow, ["nll-analytic", "--target", "gauss16d", "--points", xh_npy,
                                   "--out", os.path.join(a.out, "nll_h.npy"), "--hutchinson", "1",
                                   "--seed", str(rep), "--rtol", str(tol), "--atol", str(tol)])
            nll = np.load(os.path.join(a.out, "nll_h.npy"))
            record(f"scoreflow nll-analytic --hutchinson 1 (tol {tol:g})", r["seconds"], nfe=r["nfe"],
                   mae=float(np.abs(nll - exact_h.numpy()).mean()))
        if "accuracy" in tasks:
            def kd_run(tol):
                torch.manual_seed(rep)
                t0 = time.perf_counter()
                ll, info = K.log_likelihood(m16.denoise, xh.clone(), 1e-5, 80.0, atol=tol, rtol=tol)
                return -ll, time.perf_counter() - t0, info["fevals"]

            def ours_run(tol):
                out = os.path.join(a.out, "nll_acc.npy")
                r = ours(a.scoreflow, ["nll-analytic", "--target", "gauss16d", "--points", xh_npy,
                                       "--out", out, "--hutchinson", "1", "--seed", str(rep),
                                       "--rtol", str(tol), "--atol", str(tol)])
                return torch.from_numpy(np.load(out)), r["seconds"], r["nfe"]

            for side, run in [("k-diffusion", kd_run), ("scoreflow", ours_run)]:
                ref, _, ref_nfe = run(a.reference_tol)
                for tol in [float(t) for t in a.accuracy_tols.split(",")]:
                    nll, secs, nfe = run(tol)
                    record(f"{side} Hutchinson accuracy (tol {tol:g})", secs, nfe=nfe,
                           solver_mae=(nll - ref).abs().mean().item(),
                           mae=(nll - exact_h).abs().mean().item(), ref_nfe=ref_nfe)
        if "exact" in tasks:
            tol = a.exact_tol
            solver = ODESolver(velocity_model=Velocity(m16))
            t0 = time.perf_counter()
            _, logp = solver.compute_likelihood(x_1=xe.clone(), log_p0=std_normal, step_size=None,
                                                method="dopri5", atol=tol, rtol=tol,
                                                exact_divergence=True)
            secs = time.perf_counter() - t0
            record(f"flow_matching exact (tol {tol:g})", secs, mae=(-logp - exact_e).abs().mean().item())
            otol = a.ours_exact_tol
            r = ours(a.scoreflow, ["nll-analytic", "--target", "gauss16d", "--points", xe_npy,
                                   "--out", os.path.join(a.out, "nll_e.npy"),
                                   "--rtol", str(otol), "--atol", str(otol)])
            nll = np.load(os.path.join(a.out, "nll_e.npy"))
            record(f"scoreflow nll-analytic exact (tol {otol:g})", r["seconds"], nfe=r["nfe"],
                   mae=float(np.abs(nll - exact_e.numpy()).mean()))

    print("| run | median s | runs | extra |\n|---|---|---|---|")
    for name, r in rows.items():
        secs = r.pop("seconds")
        extra = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items())
        print(f"| {name} | {statistics.median(secs):.3f} | {len(secs)} | {extra} |")
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
