//! # scoreflow-score-matching
//!
//! Score-based diffusion on top of the solver core:
//!
//! - [`parameterization`]: networks trained to predict ε, x₀, v or the score on any noise
//!   schedule, or EDM-preconditioned, become a [`Denoiser`](scoreflow_ode_sde_solvers::Denoiser)
//!   D(x; σ) — the one interface every sampler uses.
//! - [`analytic`]: exact Gaussian-mixture targets (density, score, denoiser, CondOT velocity) for
//!   testing samplers and likelihoods against ground truth.

pub mod analytic;
pub mod parameterization;
