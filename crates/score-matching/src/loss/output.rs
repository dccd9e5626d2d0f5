//! What a loss returns.

use burn::prelude::*;

/// A loss on a batch: the value of every sample (for per-noise-level logging and for
/// importance-sampling diagnostics) and their mean (what the optimiser differentiates).
#[derive(Clone, Debug)]
pub struct LossOutput {
    /// ℓᵢ, shape `[B]`.
    pub per_sample: Tensor<1>,
    /// (1/B) Σᵢ ℓᵢ, shape `[1]`.
    pub mean: Tensor<1>,
}

impl LossOutput {
    /// Wraps per-sample values and takes their mean.
    pub fn from_per_sample(per_sample: Tensor<1>) -> Self {
        let mean = per_sample.clone().mean();
        Self { per_sample, mean }
    }
}
