//! Exact Gaussian-mixture targets: ground truth for diffusion and flow-matching samplers and
//! likelihoods.
//!
//! [`GaussianMixture`] holds p₀(x) = Σₖ wₖ N(x; μₖ, Σₖ) with full covariances. Because
//! Gaussian mixtures are closed under adding independent Gaussian noise and under affine maps,
//! every quantity a sampler or likelihood estimator needs is available in closed form, in f64:
//!
//! | quantity | method | source |
//! |---|---|---|
//! | ln p_σ of x_σ = x₀ + σε | [`GaussianMixture::log_prob`] | Karras et al. 2022 (EDM σ) |
//! | ∇ ln p_σ | [`GaussianMixture::score`] | Song et al. 2021 |
//! | D(x; σ) = E[x₀ \| x_σ = x] | [`GaussianMixture::denoise`] | Karras et al. 2022; Efron 2011 (Tweedie) |
//! | ∇² ln p_σ · v | [`GaussianMixture::log_prob_hvp`] | Chen et al. 2018; Grathwohl et al. 2019 (JVPs) |
//! | ∇·∇ ln p_σ | [`GaussianMixture::score_divergence`] | Chen et al. 2018 (change of variables) |
//! | CondOT u_t, ln p_t, ∇·u_t | [`GaussianMixture::condot_velocity`], [`GaussianMixture::condot_log_prob`], [`GaussianMixture::condot_velocity_divergence`] | Lipman et al. 2023 |
//! | exact samples of p₀ | [`GaussianMixture::sample`] | ancestral sampling |
//!
//! [`MixtureDenoiser`] wraps a mixture as a `Denoiser` on n × d `ndarray` batches with its exact
//! Jacobian (JVPs and closed-form trace), for probability-flow likelihoods
//! (`scoreflow_ode_sde_solvers::likelihood`).
//!
//! Mixtures come from [`GaussianMixture::new`], JSON ([`GaussianMixture::from_json_str`],
//! [`GaussianMixture::from_json_file`]) or the named [`GaussianMixture::builtin`]s; invalid
//! input is a [`MixtureError`], never a panic.

mod builtin;
mod component;
mod condot;
mod denoiser;
mod error;
mod hvp;
mod json;
pub(crate) mod linalg;
mod mixture;
mod sample;

pub use denoiser::MixtureDenoiser;
pub use error::MixtureError;
pub use mixture::GaussianMixture;
