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
//! | p¹·p² as a mixture | [`GaussianMixture::product`] | Gaussian product identity |
//! | N(μ, Σ)^β, its normaliser | [`GaussianMixture::gaussian_power`], [`GaussianMixture::gaussian_power_log_normaliser`] | Skreta et al. 2025 (annealing) |
//! | samples of Πᵢ pᵢ^βᵢ in 2-D | [`geometric_grid_samples`] | midpoint quadrature |
//!
//! Each has a batched form on n row-major points (`*_batch`: [`GaussianMixture::denoise_batch`],
//! [`GaussianMixture::condot_velocity_batch`], [`GaussianMixture::score_divergence_batch`], …)
//! that evaluates the same closed forms as two matrix products per block of points over the
//! stacked eigenbases (one, with the per-call precision matrices, for the denoiser, velocity
//! and score where a rounding bound allows), single-threaded unless [`GaussianMixture::with_threads`] asks for more;
//! it agrees with the single-point methods to roundoff (docs/benchmarks.md, "Analytic oracle",
//! for its speed).
//!
//! [`MixtureDenoiser`] wraps a mixture as a `Denoiser` on n × d `ndarray` batches with its exact
//! Jacobian (JVPs and closed-form trace), for probability-flow likelihoods
//! (`scoreflow_ode_sde_solvers::likelihood`).
//!
//! Mixtures come from [`GaussianMixture::new`], JSON ([`GaussianMixture::from_json_str`],
//! [`GaussianMixture::from_json_file`]) or the named [`GaussianMixture::builtin`]s; invalid
//! input is a [`MixtureError`], never a panic.

mod basis;
mod batch;
mod block;
mod builtin;
mod component;
mod condot;
mod denoiser;
mod error;
mod hvp;
mod json;
pub(crate) mod linalg;
mod mixture;
mod precision;
mod product;
mod sample;
mod spectrum;
mod tempered;

pub use denoiser::MixtureDenoiser;
pub use error::MixtureError;
pub use mixture::GaussianMixture;
pub use tempered::geometric_grid_samples;
