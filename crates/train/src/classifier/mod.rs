//! A noise-conditional classifier p(y | x_σ) and what it is for: classifier guidance and the
//! scoring of generated samples.
//!
//! - [`train_classifier`]: the *classifier objective* — cross-entropy of the labels at
//!   x_σ = x + σ·ε, ln σ ~ 𝒩(P_mean, P_std²), with a share of the batch at the clean level
//!   [`SIGMA_MIN`] (Song et al. 2021, §5 and appendix I; Dhariwal & Nichol 2021, §4) — on
//!   burn-optim's AdamW, every random draw a function of (seed, step).
//! - [`predict`], [`accuracy`], [`probabilities`]: the trained network on host data.
//! - [`ClassifierGuide`]: ∇ₓ ln p(y | x_σ) by autodiff, the gradient hook of
//!   `scoreflow_score_matching::guidance::ClassifierGuidance`.
//! - [`save_classifier`], [`load_classifier`]: the atomic, checksummed checkpoint envelope of
//!   `scoreflow-models`.
//! - [`split_per_class`]: a deterministic, class-balanced held-out split.

mod checkpoint;
mod config;
mod draws;
mod eval;
mod gradient;
mod split;
mod train;

pub use checkpoint::{load_classifier, save_classifier};
pub use config::{ClassifierReport, ClassifierRunConfig};
pub use draws::noised;
pub use eval::{accuracy, logits, predict, probabilities};
pub use gradient::ClassifierGuide;
pub use split::split_per_class;
pub use train::train_classifier;

/// The noise level read as "clean": EDM's σ_min (Karras et al. 2022, Table 1), the smallest level
/// a sampler visits. [`predict`] classifies at it.
pub const SIGMA_MIN: f64 = 0.002;

/// The largest noise level drawn in training, EDM's σ_max (Karras et al. 2022, Table 1).
pub const SIGMA_MAX: f64 = 80.0;

/// The classifier's conditioning value at noise level σ: c_noise(σ) = ¼ ln σ (Karras et al. 2022,
/// Table 1), the same as the EDM denoiser's, so both networks read σ alike.
pub fn c_noise(sigma: f64) -> f64 {
    0.25 * sigma.ln()
}
