//! The result of a Sinkhorn solve, and pairs drawn from it.

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Pairs;

/// An entropic optimal transport plan (the output of
/// [`Sinkhorn::solve`](super::Sinkhorn::solve)): the minimiser of ⟨P, C⟩ − ε H(P) over
/// couplings of the marginals a and b, H(P) = −Σ_ij P_ij (ln P_ij − 1), in the Gibbs form
///
/// P_ij = exp((f_i + g_j − C_ij)/ε)
///
/// with dual potentials f, g (Cuturi 2013, "Sinkhorn Distances: Lightspeed Computation of Optimal
/// Transport"; Peyré & Cuturi 2019, "Computational Optimal Transport", §4.2).
#[derive(Clone, Debug, PartialEq)]
pub struct SinkhornPlan {
    /// P (n₀ × n₁).
    pub plan: Array2<f64>,
    /// Source potential f (n₀), in units of cost.
    pub f: Array1<f64>,
    /// Target potential g (n₁), in units of cost.
    pub g: Array1<f64>,
    /// The ε the plan was solved for (absolute, in units of cost).
    pub epsilon: f64,
    /// Sinkhorn iterations run (one iteration = a row and a column update), all ε stages
    /// together.
    pub iterations: usize,
    /// ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁, measured on the returned `plan`.
    pub marginal_error: f64,
    /// ⟨P, C⟩ = Σ_ij P_ij C_ij.
    pub transport_cost: f64,
}

impl SinkhornPlan {
    /// `count` index pairs drawn independently, with replacement, from the plan normalised to a
    /// probability: pair (i, j) with probability P_ij / Σ P — torchcfm's
    /// `OTPlanSampler.sample_map`. Inverse-CDF sampling on the running sum of the row-major
    /// plan with ChaCha8 seeded by `seed`, so the pairs are a function of the plan and the seed.
    pub fn draw(&self, count: usize, seed: u64) -> Pairs {
        let n1 = self.plan.ncols();
        let mut total = 0.0;
        let cdf: Vec<f64> = self
            .plan
            .iter()
            .map(|&p| {
                total += p;
                total
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pairs = Pairs {
            source: Vec::with_capacity(count),
            target: Vec::with_capacity(count),
        };
        for _ in 0..count {
            let r = rng.random::<f64>() * total;
            // The first entry whose running sum exceeds r: never a zero-weight entry, and
            // always in range because r < total = cdf[last].
            let k = cdf.partition_point(|&c| c <= r).min(cdf.len() - 1);
            pairs.source.push(k / n1);
            pairs.target.push(k % n1);
        }
        pairs
    }
}
