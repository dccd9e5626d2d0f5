"""Gaussian mixtures in torch (float64) for the peer benchmarks: the same targets as scoreflow's
analytic oracle (crates/score-matching/src/analytic), with the exact denoiser, CondOT velocity and
log-density, batched over points and evaluated component by component in each covariance's
eigenbasis.

  D(x; σ) = Σₖ rₖ(x) [μₖ + Σₖ(Σₖ + σ²I)⁻¹(x − μₖ)]          (Karras et al. 2022, eq. 3)
  u_t(x)  = Σₖ rₖ(x) [μₖ + (tΣₖ − (1−t)I) Sₖ⁻¹ (x − tμₖ)],  Sₖ = t²Σₖ + (1−t)²I
            (the CondOT path x_t = t x₁ + (1−t) x₀, x₀ ~ N(0, I); Lipman et al. 2023)

`splitmix_mixture(d)` reproduces the builtin "gauss16d" recipe (builtin.rs) for any dimension:
component k draws from SplitMix64 seeded 0x5C0F_1016 + k, means uniform on [−3, 3), Bₖ entries
uniform on [−√3, √3), Σₖ = BₖBₖᵀ/d + 0.5·I, weights (0.5, 0.3, 0.2). d = 16 is gauss16d exactly.
"""

import json
import math

import numpy as np
import torch

MASK = (1 << 64) - 1
LN_2PI = math.log(2.0 * math.pi)


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def unit(self):
        return (self.next() >> 11) * (1.0 / (1 << 53))


def splitmix_mixture(d, seed=0x5C0F_1016):
    """(weights, means, covs) as nested lists: the gauss16d recipe in dimension d."""
    means, covs = [], []
    for k in range(3):
        rng = SplitMix64(seed + k)
        mean = [6.0 * rng.unit() - 3.0 for _ in range(d)]
        b = np.array([math.sqrt(3.0) * (2.0 * rng.unit() - 1.0) for _ in range(d * d)]).reshape(d, d)
        cov = b @ b.T / d + 0.5 * np.eye(d)
        means.append(mean)
        covs.append(cov.tolist())
    return [0.5, 0.3, 0.2], means, covs


def write_json(path, weights, means, covs):
    with open(path, "w") as f:
        json.dump({"weights": weights, "means": means, "covs": covs}, f)


class TorchMixture:
    def __init__(self, weights, means, covs):
        self.logw = torch.log(torch.tensor(weights, dtype=torch.float64))
        self.mu = torch.tensor(means, dtype=torch.float64)  # (K, d)
        cov = torch.tensor(covs, dtype=torch.float64)  # (K, d, d)
        self.lam, self.q = torch.linalg.eigh(cov)  # Σₖ = Qₖ diag(λₖ) Qₖᵀ
        self.d = self.mu.shape[1]

    def _posterior(self, z, c):
        """log wₖ N(x; ·, ·) for each component from z = Qᵀ(x − m) and variances c: (n, K)."""
        return self.logw - 0.5 * ((z * z / c[:, None, :]).sum(-1).T + torch.log(c).sum(-1) + self.d * LN_2PI)

    def log_prob(self, x, sigma):
        c = self.lam + sigma * sigma  # (K, d)
        z = torch.einsum("nd,kde->kne", x, self.q) - torch.einsum("kd,kde->ke", self.mu, self.q)[:, None, :]
        return torch.logsumexp(self._posterior(z, c), dim=1)

    def denoise(self, x, sigma):
        """The exact D(x; σ) for x (n, d) and a scalar or per-row σ (k-diffusion passes σ·1)."""
        if torch.is_tensor(sigma) and sigma.dim() > 0:
            sigma = sigma.reshape(-1)[0]
        s2 = sigma * sigma
        c = self.lam + s2
        z = torch.einsum("nd,kde->kne", x, self.q) - torch.einsum("kd,kde->ke", self.mu, self.q)[:, None, :]
        r = torch.softmax(self._posterior(z, c), dim=1)  # (n, K)
        shrunk = z * (self.lam / c)[:, None, :]
        dk = torch.einsum("kne,kde->knd", shrunk, self.q) + self.mu[:, None, :]
        return torch.einsum("nk,knd->nd", r, dk)

    def condot_velocity(self, x, t):
        a, b = t, 1.0 - t
        c = a * a * self.lam + b * b  # eigenvalues of Sₖ
        z = torch.einsum("nd,kde->kne", x, self.q) - a * torch.einsum("kd,kde->ke", self.mu, self.q)[:, None, :]
        r = torch.softmax(self._posterior(z, c), dim=1)
        gain = (a * self.lam - b) / c
        uk = torch.einsum("kne,kde->knd", z * gain[:, None, :], self.q) + self.mu[:, None, :]
        return torch.einsum("nk,knd->nd", r, uk)

    def sample(self, n, seed):
        g = np.random.default_rng(seed)
        w = np.exp(self.logw.numpy())
        comp = g.choice(len(w), size=n, p=w / w.sum())
        eps = g.standard_normal((n, self.d))
        root = (self.q * torch.sqrt(self.lam)[:, None, :]).numpy()  # Qₖ diag(√λₖ)
        x = self.mu.numpy()[comp] + np.einsum("nde,ne->nd", root[comp], eps)
        return torch.tensor(x, dtype=torch.float64)
