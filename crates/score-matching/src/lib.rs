//! # scoreflow-score-matching
//!
//! Score-based diffusion on top of the solver core — everything a training step needs besides
//! the network and the loop, and everything a sampler needs to use what was trained:
//!
//! - [`sde`]: the forward SDE, reverse SDE and probability-flow ODE of any
//!   [`NoiseSchedule`](scoreflow_noise_schedules::NoiseSchedule) as terms the solvers of
//!   `scoreflow-ode-sde-solvers` integrate, and the perturbation kernel p(x_t | x₀).
//! - [`noise_level`]: the distributions training draws t or σ from, with their densities.
//! - `loss` (feature `burn`): denoising score matching for every prediction type and
//!   weighting, the discrete-time DDPM loss, and sliced score matching.
//! - [`editing`]: inpainting (replacement and RePaint), SDEdit and probability-flow inversion
//!   built on any sampler.
//! - [`guidance`]: classifier-free guidance (with rescale and a σ interval) and classifier
//!   guidance, as denoiser wrappers every sampler runs.
//! - [`parameterization`]: networks trained to predict ε, x₀, v, the score or a flow velocity
//!   on any noise schedule, or EDM-preconditioned, become a
//!   [`Denoiser`](scoreflow_ode_sde_solvers::Denoiser) D(x; σ) — the one interface every sampler
//!   uses.
//! - [`analytic`]: exact Gaussian-mixture targets (density, score, denoiser, CondOT velocity) for
//!   testing samplers, likelihoods and losses against ground truth.
//! - [`mean_reverting`]: the mean-reverting diffusion of IR-SDE with its exact Gaussian-mixture
//!   model, Euler–Maruyama baseline and MRS's semi-analytic ODE/SDE solvers (Li et al. 2025).
//! - [`teleport`]: analytical teleportation — the closed-form Gaussian probability flow that
//!   replaces a sampler's first steps (Wang & Vastola 2024).

pub mod analytic;
pub mod editing;
pub mod guidance;
#[cfg(feature = "burn")]
pub mod loss;
pub mod mean_reverting;
pub mod noise_level;
pub mod parameterization;
pub mod sde;
pub mod teleport;
