//! The sliced Wasserstein-2 distance between two samples.

use scoreflow_score_matching::analytic::GaussianMixture;

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
    /// Projects and sorts `reference` (`n × dim`, row-major) on `k` directions: standard normal
    /// vectors (the exact sampler of a one-component [`GaussianMixture`] N(0, I), seeded with
    /// `seed`) normalised to the sphere.
    ///
    /// # Panics
    /// If `dim` is 0 or `reference.len()` is not a multiple of it.
    pub fn new(reference: &[f64], dim: usize, k: usize, seed: u64) -> Self {
        assert!(
            dim > 0 && reference.len().is_multiple_of(dim),
            "reference is n × dim"
        );
        let identity = (0..dim)
            .map(|i| (0..dim).map(|j| f64::from(u8::from(i == j))).collect())
            .collect();
        let normal = GaussianMixture::new(vec![1.0], vec![vec![0.0; dim]], vec![identity])
            .expect("N(0, I) is a valid mixture");
        let mut directions = normal.sample(k, seed);
        for v in directions.chunks_exact_mut(dim) {
            // A Gaussian vector normalised is uniform on the sphere; it is 0 with probability 0.
            let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            v.iter_mut().for_each(|a| *a /= norm);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliced_w2_of_a_shift_is_its_length() {
        // Projections of X + c are those of X shifted by θᵀc, so SW₂² = E[(θᵀc)²] = ‖c‖²/d.
        let normal = GaussianMixture::new(
            vec![1.0],
            vec![vec![0.0; 2]],
            vec![vec![vec![1.0, 0.0], vec![0.0, 1.0]]],
        )
        .unwrap();
        let x = normal.sample(500, 7);
        let sw = SlicedW2::new(&x, 2, 4000, 1);
        assert!(sw.distance(&x).unwrap() < 1e-12);
        let shifted: Vec<f64> = x
            .chunks_exact(2)
            .flat_map(|p| [p[0] + 3.0, p[1] + 4.0])
            .collect();
        let expected = (25.0f64 / 2.0).sqrt();
        assert!((sw.distance(&shifted).unwrap() - expected).abs() < 0.05 * expected);
        assert!(sw.distance(&x[..10]).is_none());
    }
}
