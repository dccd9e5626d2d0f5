//! Helpers shared by the coupling tests: seeded Gaussian batches, costs computed directly from
//! their definition, and brute-force optimal assignments.

#![allow(dead_code)]

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// x0 ~ N(0, I) (n0 × d) and x1 ~ N(shift, scale² I) (n1 × d), from one seeded stream.
pub fn gaussian_batches(
    n0: usize,
    n1: usize,
    d: usize,
    shift: f64,
    scale: f64,
    seed: u64,
) -> (Array2<f64>, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    let x0 = Array2::from_shape_fn((n0, d), |_| normal());
    let x1 = Array2::from_shape_fn((n1, d), |_| shift + scale * normal());
    (x0, x1)
}

/// ‖x0_i − x1_j‖² summed coordinate by coordinate (no cancellation).
pub fn direct_cost(x0: ArrayView2<'_, f64>, x1: ArrayView2<'_, f64>, i: usize, j: usize) -> f64 {
    x0.row(i)
        .iter()
        .zip(x1.row(j))
        .map(|(a, b)| (a - b) * (a - b))
        .sum()
}

/// The cost matrix from [`direct_cost`].
pub fn direct_cost_matrix(x0: ArrayView2<'_, f64>, x1: ArrayView2<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((x0.nrows(), x1.nrows()), |(i, j)| direct_cost(x0, x1, i, j))
}

/// min over injections σ of the rows into the columns (rows ≤ columns) of Σ_i C_{i,σ(i)}, by
/// enumerating them all.
pub fn brute_force_min(cost: ArrayView2<'_, f64>) -> f64 {
    fn go(cost: ArrayView2<'_, f64>, row: usize, used: &mut Vec<bool>, acc: f64, best: &mut f64) {
        if row == cost.nrows() {
            *best = best.min(acc);
            return;
        }
        for j in 0..cost.ncols() {
            if !used[j] {
                used[j] = true;
                go(cost, row + 1, used, acc + cost[[row, j]], best);
                used[j] = false;
            }
        }
    }
    assert!(cost.nrows() <= cost.ncols());
    let mut best = f64::INFINITY;
    go(cost, 0, &mut vec![false; cost.ncols()], 0.0, &mut best);
    best
}
