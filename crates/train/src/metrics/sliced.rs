//! The sliced Wasserstein-2 distance between two samples.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// The sliced Wasserstein-2 distance to a fixed reference sample (Rabin, Peyré, Delon &
/// Bernot 2011, "Wasserstein Barycenter and its Application to Texture Mixing"; Bonneel,
/// Rabin, Peyré & Pfister 2015, "Sliced and Radon Wasserstein Barycenters of Measures"):
///
/// SW₂²(X, Y) = E_θ[W₂²(θᵀX, θᵀY)], θ uniform on the unit sphere,
///
/// estimated with K fixed random directions. For two samples of equal size n the 1-D W₂² is
/// exact: the optimal coupling matches order statistics, W₂² = 1/n Σᵢ (x₍ᵢ₎ − y₍ᵢ₎)². Finite
/// samples bias it upward, so compare against the floor of two exact samples of the same size
/// ([`SlicedW2::distance`] of a second exact sample).
pub struct SlicedW2 {
    dim: usize,
    /// Unit directions, K × d, row-major.
    directions: Vec<f64>,
    /// The reference sample's sorted projection on each direction.
    sorted: Vec<Vec<f64>>,
}

impl SlicedW2 {
    /// Projects and sorts `reference` (`n × dim`, row-major) on `k` directions drawn from
    /// ChaCha8 seeded with `seed`.
    ///
    /// # Panics
    /// If `dim` is 0 or `reference.len()` is not a multiple of it.
    pub fn new(reference: &[f64], dim: usize, k: usize, seed: u64) -> Self {
        assert!(
            dim > 0 && reference.len().is_multiple_of(dim),
            "reference is n × dim"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut directions = Vec::with_capacity(k * dim);
        for _ in 0..k {
            let v: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect();
            // A Gaussian vector normalised is uniform on the sphere; it is 0 with probability 0.
            let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            directions.extend(v.iter().map(|a| a / norm));
        }
        let sorted = directions
            .chunks_exact(dim)
            .map(|theta| sorted_projection(reference, dim, theta))
            .collect();
        Self {
            dim,
            directions,
            sorted,
        }
    }

    /// SW₂ between `x` (`n × dim`, as many rows as the reference) and the reference, or `None`
    /// when the sizes differ.
    pub fn distance(&self, x: &[f64]) -> Option<f64> {
        let mut total = 0.0;
        for (theta, ys) in self.directions.chunks_exact(self.dim).zip(&self.sorted) {
            let xs = sorted_projection(x, self.dim, theta);
            if xs.len() != ys.len() || !x.len().is_multiple_of(self.dim) {
                return None;
            }
            let w2: f64 = xs.iter().zip(ys).map(|(a, b)| (a - b) * (a - b)).sum();
            total += w2 / xs.len() as f64;
        }
        Some((total / self.sorted.len() as f64).sqrt())
    }
}

fn sorted_projection(x: &[f64], dim: usize, theta: &[f64]) -> Vec<f64> {
    let mut p: Vec<f64> = x
        .chunks_exact(dim)
        .map(|row| row.iter().zip(theta).map(|(a, b)| a * b).sum())
        .collect();
    p.sort_unstable_by(f64::total_cmp);
    p
}
