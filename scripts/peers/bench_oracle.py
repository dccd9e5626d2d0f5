#!/usr/bin/env python3
"""Per-call time of the exact Gaussian-mixture oracle: scoreflow's against a torch implementation.

The torch side is a competent float64 implementation of the same closed forms, written the way
one writes them in torch (batched, no Python loops over points or components), with the same
precomputation as scoreflow: each covariance factorised once, Σₖ = Qₖ diag(λₖ) Qₖᵀ
(torch.linalg.eigh), so that per call (Σₖ + σ²I)⁻¹ and log det are O(d) and the batch is
projected on all K eigenbases with one matmul, X·[Q₁ | … | Q_K]:

  denoise   D(x; σ) = Σₖ rₖ [μₖ + Qₖ diag(λₖ/(λₖ + σ²)) zₖ],       zₖ = Qₖᵀ(x − μₖ)
  velocity  u_t(x)  = Σₖ rₖ [μₖ + Qₖ diag((tλₖ − (1 − t))/cₖ) zₖ], zₖ = Qₖᵀ(x − tμₖ),
            cₖ = t²λₖ + (1 − t)²  (CondOT, Lipman et al. 2023; t = 1/(1 + σ))
  score     ∇ ln p_σ(x) = −Σₖ rₖ Qₖ diag(1/(λₖ + σ²)) zₖ

with responsibilities rₖ = softmax over k of ln wₖ − ½(d ln 2π + Σ ln c + Σ z²/c). It reads the
same mixture JSON ({"weights", "means", "covs"}) as scoreflow and evaluates on the same points.

Protocol, for each target: the target's JSON and the points are written once; then `--rounds`
rounds, each running scoreflow's `bench-oracle` (a subprocess that times itself) and the torch
code in this process back to back, in alternating order, each timing `--repeats` passes over the
σ list after one warm-up pass. A round's figure is the median over its repeats of the time per
call; the reported figure is the median over rounds. Interleaving and medians are there because
the machine may be shared: load from other processes moves single repeats, not the result.
Before timing, scoreflow's output at the first σ is compared with torch's (max relative error),
so the two are known to compute the same function.

Targets: ring8, grid25, gauss16d (scoreflow's built-ins, written out by `bench-oracle
--write-json`) and gauss64d, generated here: 8 components in 64-D, weights ∝ 1 + U(0, 1), means
U(−3, 3)⁶⁴, Σₖ = BₖBₖᵀ/64 + 0.5·I with Bₖ standard normal (numpy PCG64, seed 64).

Usage (venv from scripts/peers/install.sh; release binary):

  /work/peers-venv/bin/python scripts/peers/bench_oracle.py --scoreflow target/release/scoreflow
  ... --targets ring8,gauss64d --quantities denoise,velocity --rounds 5 --json out.json

Prints one JSON object per (target, quantity) to stdout and a Markdown table to stderr.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

# One thread, fixed before torch is imported so that MKL and OpenMP start with one.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

LN_2PI = math.log(2.0 * math.pi)


class TorchMixture:
    """p₀ = Σₖ wₖ N(μₖ, Σₖ) in float64 with each Σₖ eigendecomposed once."""

    def __init__(self, spec):
        w = torch.tensor(spec["weights"], dtype=torch.float64)
        self.means = torch.tensor(spec["means"], dtype=torch.float64)  # (K, d)
        covs = torch.tensor(spec["covs"], dtype=torch.float64)  # (K, d, d)
        covs = 0.5 * (covs + covs.transpose(1, 2))
        self.k, self.d = self.means.shape
        self.log_w = torch.log(w / w.sum())
        self.lam, q = torch.linalg.eigh(covs)  # (K, d), (K, d, d), columns eigenvectors
        # X @ forward = [X Q₁ | … | X Q_K]; back = [Q₁ᵀ; …; Q_Kᵀ] stacks the inverse maps.
        self.forward = q.permute(1, 0, 2).reshape(self.d, self.k * self.d).contiguous()
        self.back = q.transpose(1, 2).reshape(self.k * self.d, self.d).contiguous()
        self.mean_eig = torch.einsum("kij,ki->kj", q, self.means)  # Qₖᵀμₖ, (K, d)

    def _posterior(self, x, mean_scale, c):
        """z (n, K, d) = Qₖᵀ(x − aμₖ) and the responsibilities r (n, K) under N(aμₖ, Qₖ diag(c) Qₖᵀ).

        In-place updates and one einsum for the quadratic forms: each saves a pass over an
        (n, K, d) tensor, which is what eager torch spends its time on here (about 1.7× faster
        than the textbook (z * z / c).sum(-1) version)."""
        n = x.shape[0]
        z = torch.mm(x, self.forward).view(n, self.k, self.d)
        z.sub_(self.mean_eig if mean_scale == 1.0 else mean_scale * self.mean_eig)
        log_norm = self.log_w - 0.5 * (self.d * LN_2PI + torch.log(c).sum(-1))
        logits = torch.einsum("nkd,kd->nk", z * z, 1.0 / c).mul_(-0.5).add_(log_norm)
        return z, torch.softmax(logits, dim=-1)

    def _combine(self, z, r, gain, mean_coef):
        """Σₖ rₖ (mean_coef·μₖ + Qₖ diag(gain) zₖ), overwriting z."""
        n = z.shape[0]
        z.mul_(gain).mul_(r.unsqueeze(-1))
        if mean_coef == 0.0:
            return torch.mm(z.view(n, self.k * self.d), self.back)
        return torch.addmm(r @ self.means, z.view(n, self.k * self.d), self.back)

    def denoise(self, x, sigma):
        c = self.lam + sigma * sigma
        z, r = self._posterior(x, 1.0, c)
        return self._combine(z, r, self.lam / c, 1.0)

    def score(self, x, sigma):
        c = self.lam + sigma * sigma
        z, r = self._posterior(x, 1.0, c)
        return self._combine(z, r, -1.0 / c, 0.0)

    def velocity(self, x, sigma):
        t = 1.0 / (1.0 + sigma)
        s = 1.0 - t
        c = t * t * self.lam + s * s
        z, r = self._posterior(x, t, c)
        return self._combine(z, r, (t * self.lam - s) / c, 1.0)


def gauss64d():
    rng = np.random.Generator(np.random.PCG64(64))
    k, d = 8, 64
    w = 1.0 + rng.random(k)
    means = rng.uniform(-3.0, 3.0, size=(k, d))
    covs = []
    for _ in range(k):
        b = rng.standard_normal((d, d))
        covs.append(b @ b.T / d + 0.5 * np.eye(d))
    return {"weights": (w / w.sum()).tolist(), "means": means.tolist(), "covs": [c.tolist() for c in covs]}


def points_for(spec, n, seed):
    """n exact draws of the mixture plus N(0, I): the same kind of points bench-oracle draws."""
    rng = np.random.Generator(np.random.PCG64(seed))
    w = np.asarray(spec["weights"])
    means = np.asarray(spec["means"])
    covs = np.asarray(spec["covs"])
    comp = rng.choice(len(w), size=n, p=w / w.sum())
    chol = np.linalg.cholesky(covs)
    z = rng.standard_normal((n, means.shape[1]))
    x = means[comp] + np.einsum("nij,nj->ni", chol[comp], z)
    return np.ascontiguousarray(x + rng.standard_normal(x.shape))


def time_torch(fn, x, sigmas, repeats, warmup):
    with torch.inference_mode():
        for _ in range(warmup):
            for s in sigmas:
                fn(x, s)
        per_call = []
        for _ in range(repeats):
            start = time.perf_counter()
            for s in sigmas:
                fn(x, s)
            per_call.append(1e3 * (time.perf_counter() - start) / len(sigmas))
    return statistics.median(per_call)


def run_ours(args, target_json, points, quantity, out=None):
    cmd = [
        args.scoreflow, "bench-oracle", "--target", target_json, "--points", points,
        "--quantity", quantity, "--sigmas", args.sigmas, "--repeats", str(args.repeats),
        "--warmup", "1", "--threads", "1",
    ]
    if out is not None:
        cmd += ["--out", out]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scoreflow", required=True, help="path of the scoreflow binary (release)")
    p.add_argument("--targets", default="ring8,grid25,gauss16d,gauss64d")
    p.add_argument("--quantities", default="denoise,velocity")
    p.add_argument("--n", type=int, default=8192, help="points per call (d < 64)")
    p.add_argument("--n64", type=int, default=4096, help="points per call in 64-D")
    p.add_argument("--sigmas", default="80,10,1,0.1,0.01")
    p.add_argument("--repeats", type=int, default=7, help="timed passes over --sigmas per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()
    torch.set_num_threads(1)
    sigmas = [float(s) for s in args.sigmas.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for target in args.targets.split(","):
            path = os.path.join(tmp, f"{target}.json")
            if target == "gauss64d":
                with open(path, "w") as f:
                    json.dump(gauss64d(), f)
            else:
                subprocess.run(
                    [args.scoreflow, "bench-oracle", "--target", target, "--write-json", path,
                     "--n", "1", "--repeats", "1", "--warmup", "0"],
                    check=True, capture_output=True,
                )
            with open(path) as f:
                spec = json.load(f)
            mix = TorchMixture(spec)
            n = args.n64 if mix.d >= 64 else args.n
            x_np = points_for(spec, n, args.seed)
            pts = os.path.join(tmp, f"{target}-points.npy")
            np.save(pts, x_np)
            x = torch.from_numpy(x_np)
            for quantity in args.quantities.split(","):
                fn = getattr(mix, quantity)
                check = os.path.join(tmp, f"{target}-{quantity}.npy")
                run_ours(args, path, pts, quantity, out=check)
                ours_out = torch.from_numpy(np.load(check))
                with torch.inference_mode():
                    torch_out = fn(x, sigmas[0])
                rel = ((ours_out - torch_out).norm(dim=1) / (1.0 + torch_out.norm(dim=1))).max().item()
                ours_ms, torch_ms = [], []
                for rnd in range(args.rounds):
                    order = ("ours", "torch") if rnd % 2 == 0 else ("torch", "ours")
                    for who in order:
                        if who == "ours":
                            ours_ms.append(run_ours(args, path, pts, quantity)["ms_per_call_median"])
                        else:
                            torch_ms.append(time_torch(fn, x, sigmas, args.repeats, 1))
                row = {
                    "target": target, "quantity": quantity, "dim": mix.d, "components": mix.k, "n": n,
                    "threads": 1, "ours_ms": statistics.median(ours_ms), "torch_ms": statistics.median(torch_ms),
                    "ours_rounds_ms": ours_ms, "torch_rounds_ms": torch_ms, "max_rel_diff": rel,
                    "torch": torch.__version__,
                }
                row["speedup"] = row["torch_ms"] / row["ours_ms"]
                results.append(row)
                print(json.dumps(row), flush=True)
    print("| target | d | K | n | quantity | scoreflow ms/call | torch ms/call | torch / scoreflow | max rel. diff |",
          file=sys.stderr)
    print("|---|---|---|---|---|---|---|---|---|", file=sys.stderr)
    for r in results:
        print(f"| {r['target']} | {r['dim']} | {r['components']} | {r['n']} | {r['quantity']} | "
              f"{r['ours_ms']:.3f} | {r['torch_ms']:.3f} | {r['speedup']:.2f}× | {r['max_rel_diff']:.1e} |",
              file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
