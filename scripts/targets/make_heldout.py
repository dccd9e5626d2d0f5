#!/usr/bin/env python3
"""Writes the two held-out Gaussian-mixture targets of docs/samplers.md into benches/targets/.

They are never used to choose or tune a sampler, grid or ending: the default sampler (`auto`)
is chosen on the built-in targets (ring8, grid25, gauss16d) and then validated on these.

  heldout-aniso2d  2-D, 6 components, unequal weights, rotated anisotropic covariances with
                   variances from 0.01 to 0.5 (sharp, elongated basins)
  heldout-mix32d   32-D, 5 components, means in [-3, 3]^32, covariances of rank-4 structure
                   plus 0.05 I (near-degenerate: stiff as sigma -> 0)

Usage: python3 scripts/targets/make_heldout.py   (needs numpy; seeded, reproducible)
"""

import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[2] / "benches" / "targets"


def aniso2d(rng):
    k = 6
    weights = rng.dirichlet(np.full(k, 2.0))
    means = rng.uniform(-4.0, 4.0, size=(k, 2))
    covs = []
    for _ in range(k):
        angle = rng.uniform(0.0, np.pi)
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        var = np.array([rng.uniform(0.1, 0.5), rng.uniform(0.01, 0.05)])
        covs.append(rot @ np.diag(var) @ rot.T)
    return weights, means, covs


def mix32d(rng):
    d, k = 32, 5
    weights = rng.dirichlet(np.full(k, 3.0))
    means = rng.uniform(-3.0, 3.0, size=(k, d))
    covs = []
    for _ in range(k):
        b = rng.normal(size=(d, 4))
        covs.append(b @ b.T / 4.0 + 0.05 * np.eye(d))
    return weights, means, covs


def write(name, parts):
    weights, means, covs = parts
    covs = [0.5 * (c + c.T) for c in covs]
    text = json.dumps(
        {
            "weights": [float(w) for w in weights],
            "means": [[float(v) for v in m] for m in means],
            "covs": [[[float(v) for v in row] for row in c] for c in covs],
        }
    )
    (OUT / f"{name}.json").write_text(text + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write("heldout-aniso2d", aniso2d(np.random.default_rng(20261203)))
    write("heldout-mix32d", mix32d(np.random.default_rng(20261204)))


if __name__ == "__main__":
    main()
