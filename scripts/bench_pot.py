#!/usr/bin/env python3
"""POT's exact and entropic OT on the workloads of `cargo bench --bench ot` (benches/ot.rs).

Same sizes, same data distribution (x0 ~ N(0, I), x1 ~ N(1, 0.5² I), rows i.i.d.), same
regularisation (ε = 0.05 × the median of the squared-Euclidean cost matrix, fixed per problem
before timing) and the same stopping tolerance (1e-9; POT measures the L2 norm of the column
marginal error every 10 iterations, scoreflow the L1 norm of both marginals after every
iteration, which is stricter). Every timing starts from the points and includes the cost matrix
(`ot.dist`, the same ‖a‖² + ‖b‖² − 2a·b formula on BLAS). `ot.emd` gets numItermax = 10⁷ (its
default 10⁵ suffices at these sizes; the larger cap only rules out an early stop), and any warning
(non-convergence, numerical errors) is turned into an error.

    python3 -m venv /work/venv-pot && /work/venv-pot/bin/pip install pot numpy
    /work/venv-pot/bin/python scripts/bench_pot.py

Prints one line per case: the median wall time of `repeats` runs (after one warm-up run), and the
Sinkhorn iteration count.
"""

import os
import statistics
import time
import warnings

import numpy as np
import ot

SIZES = [64, 256, 1024]
DIMS = [2, 784]
EPS_FACTOR = 0.05
TOL = 1e-9
MAX_ITER = 100_000


def data(n, d, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((n, d))
    x1 = 1.0 + 0.5 * rng.standard_normal((n, d))
    return x0, x1


def median_time(f, repeats):
    f()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def main():
    warnings.simplefilter("error")
    print(f"POT {ot.__version__}, numpy {np.__version__}, "
          f"OMP/OPENBLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default (all cores)')}")
    for d in DIMS:
        for n in SIZES:
            x0, x1 = data(n, d, seed=n + d)
            a = np.full(n, 1.0 / n)
            b = np.full(n, 1.0 / n)
            eps = EPS_FACTOR * float(np.median(ot.dist(x0, x1)))
            repeats = 30 if n <= 256 else 10

            def exact():
                m = ot.dist(x0, x1)
                return ot.emd(a, b, m, numItermax=10_000_000)

            def entropic():
                m = ot.dist(x0, x1)
                return ot.sinkhorn(a, b, m, eps, stopThr=TOL, numItermax=MAX_ITER, log=True)

            t_exact = median_time(exact, repeats)
            t_sink = median_time(entropic, repeats)
            plan, log = entropic()
            err = np.abs(plan.sum(1) - a).sum() + np.abs(plan.sum(0) - b).sum()
            print(f"exact    n={n:5d} d={d:4d}  {fmt(t_exact):>10}")
            print(f"sinkhorn n={n:5d} d={d:4d}  {fmt(t_sink):>10}  eps={eps:.4g}  "
                  f"iterations={log['niter']}  L1 marginal error={err:.2e}")


if __name__ == "__main__":
    main()
