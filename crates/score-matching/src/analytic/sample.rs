//! Exact sampling from p₀.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::StandardNormal;

use super::linalg;
use super::mixture::GaussianMixture;

impl GaussianMixture {
    /// n exact draws from p₀, flat row-major (sample i is `out[i*d..(i+1)*d]`), from a
    /// ChaCha20 stream seeded with `seed`: the same seed gives bit-identical samples on every
    /// platform. Ancestral sampling: k ~ Categorical(w) by inverting the cumulative weights,
    /// then x = μₖ + Lₖz with z ~ N(0, I) and Σₖ = LₖLₖᵀ. For p_σ, add σ·N(0, I) noise.
    pub fn sample(&self, n: usize, seed: u64) -> Vec<f64> {
        self.sample_with_rng(n, &mut ChaCha20Rng::seed_from_u64(seed))
    }

    /// [`Self::sample`] drawing from a caller-supplied generator, for callers that thread one
    /// RNG through a whole experiment.
    pub fn sample_with_rng<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Vec<f64> {
        let d = self.dim();
        let mut cumulative = Vec::with_capacity(self.n_components());
        let mut acc = 0.0;
        for w in self.weights() {
            acc += w;
            cumulative.push(acc);
        }
        let mut out = vec![0.0; n * d];
        let mut z = vec![0.0; d];
        for x in out.chunks_exact_mut(d) {
            let u: f64 = rng.random();
            // The last component absorbs u ≥ Σw, which roundoff in the cumulative sum allows.
            let k = cumulative
                .iter()
                .position(|&c| u < c)
                .unwrap_or(cumulative.len() - 1);
            for zi in z.iter_mut() {
                *zi = rng.sample(StandardNormal);
            }
            let comp = &self.components[k];
            x.copy_from_slice(&comp.mean);
            linalg::lower_mul_add(&comp.chol, d, &z, x);
        }
        out
    }
}
