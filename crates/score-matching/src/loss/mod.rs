//! Denoising score-matching losses on burn tensors (feature `burn`).
//!
//! A training step draws, per sample, a noise level t (or σ̃, through
//! [`noise_level`](crate::noise_level)) and a standard normal ε, forms
//! x_t = α(t)x₀ + σ(t)ε and regresses the network's prediction on a target that is linear in
//! (x₀, ε). Every loss here is a weighted mean squared error of one of those predictions; all
//! of them are, sample for sample, w₀(t)·‖x̂₀ − x₀‖²/d for the x̂₀ the prediction implies, so a
//! weighting is one function w₀ on the x₀ error and the prediction type only chooses the space
//! the network works in (Kingma & Gao 2023, "Understanding Diffusion Objectives as the ELBO with
//! Simple Data Augmentation", §2 and App. D):
//!
//! - [`Prediction`]: what the network outputs (ε, x₀, v, score, or EDM's preconditioned F) —
//!   its input scaling, conditioning value, target and the factor between its squared error and
//!   the x₀ one;
//! - [`Weighting`]: w₀(t) — unit weight in any prediction's space, likelihood (g²),
//!   SNR, min-SNR-γ, soft-min-SNR, EDM;
//! - [`DenoisingScoreMatching`]: the loss itself, per sample and mean (DDPM's discrete ε-loss
//!   is the [`DenoisingScoreMatching::ddpm`] case);
//! - [`SlicedScoreMatching`]: sliced score matching with variance reduction, by central
//!   differences (burn has first-order autodiff only).
//!
//! All coefficients are computed on the host in f64, once per batch, and enter the graph as
//! one `[B]` tensor each: nothing is read back from the device.

mod batch;
mod dsm;
mod error;
mod network;
mod output;
mod prediction;
mod sliced;
mod weighting;

pub use dsm::{DenoisingScoreMatching, SampleRow};
pub use error::LossError;
pub use network::{Fallible, NoiseConditionalNetwork};
pub use output::LossOutput;
pub use prediction::{Prediction, PredictionCoefficients};
pub use sliced::SlicedScoreMatching;
pub use weighting::Weighting;
