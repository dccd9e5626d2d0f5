//! Log-weights, effective sample size and systematic resampling for sequential Monte Carlo.

use rand::Rng;

use crate::brownian::rng::{mix, stream};

/// Stream reserved for resampling uniforms, distinct from the samplers' noise streams.
const RESAMPLE_STREAM: u64 = 0x5245_5341_4D50;

/// ln Σᵢ exp(aᵢ), computed as m + ln Σᵢ exp(aᵢ − m) with m = maxᵢ aᵢ so that no term overflows
/// and at least one is exactly 1. −∞ for an empty slice or when every aᵢ = −∞; NaN propagates.
pub fn log_sum_exp(a: &[f64]) -> f64 {
    let m = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY || m.is_nan() {
        return if a.iter().any(|v| v.is_nan()) {
            f64::NAN
        } else {
            f64::NEG_INFINITY
        };
    }
    m + a.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// The effective sample size of importance weights wᵢ = exp(log_wᵢ) (Kong, Liu & Wong 1994;
/// Doucet & Johansen 2011, "A Tutorial on Particle Filtering and Smoothing", eq. (48)):
///
/// ESS = (Σᵢ wᵢ)² / Σᵢ wᵢ² = exp(2·LSE(log w) − LSE(2·log w)),
///
/// evaluated in log space so that weights of any magnitude give a value in [1, K]
/// (NaN if every weight is 0 or any is NaN).
pub fn effective_sample_size(log_w: &[f64]) -> f64 {
    let doubled: Vec<f64> = log_w.iter().map(|v| 2.0 * v).collect();
    (2.0 * log_sum_exp(log_w) - log_sum_exp(&doubled)).exp()
}

/// Systematic resampling (Kitagawa 1996; Douc, Cappé & Moulines 2005, "Comparison of Resampling
/// Schemes for Particle Filtering"): with normalised weights Wᵢ and one uniform u ∈ [0, 1), the
/// K points (u + j)/K, j = 0..K, are located in the cumulative sums of W; ancestor j is the
/// index of the interval holding point j. Every particle i is copied ⌊K·Wᵢ⌋ or ⌈K·Wᵢ⌉ times
/// and E[copies of i] = K·Wᵢ, so the resampled empirical measure is unbiased.
///
/// Returns K ancestor indices in increasing order.
pub fn systematic_resample(log_w: &[f64], u: f64) -> Vec<usize> {
    let k = log_w.len();
    let total = log_sum_exp(log_w);
    let mut ancestors = Vec::with_capacity(k);
    let mut cumulative = 0.0;
    let mut i = 0;
    for j in 0..k {
        let point = (u + j as f64) / k as f64;
        // Roundoff may leave the last cumulative sum just below 1: the last particle absorbs it.
        while i + 1 < k && cumulative + (log_w[i] - total).exp() <= point {
            cumulative += (log_w[i] - total).exp();
            i += 1;
        }
        ancestors.push(i);
    }
    ancestors
}

/// The uniforms of one group's resampling events: a ChaCha8 stream on a hash of
/// (seed, group), so a group of particles resamples identically whatever other groups share
/// its batch.
#[derive(Clone, Debug)]
pub struct GroupUniforms {
    rng: rand_chacha::ChaCha8Rng,
}

impl GroupUniforms {
    /// The stream of group `group` under the base `seed`.
    pub fn new(seed: u64, group: u64) -> Self {
        Self {
            rng: stream(
                mix(seed ^ mix(group.wrapping_add(0x6E0A_11C0))),
                RESAMPLE_STREAM,
            ),
        }
    }

    /// The next uniform on [0, 1).
    pub fn next_uniform(&mut self) -> f64 {
        self.rng.random::<f64>()
    }
}
