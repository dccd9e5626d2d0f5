//! Analytical teleportation (Wang & Vastola 2024, "The Unreasonable Effectiveness of Gaussian
//! Score Approximation for Diffusion Models and its Applications", §5): the early, high-σ part of
//! a probability-flow trajectory is replaced by the closed-form flow of the data's Gaussian
//! approximation, and any sampler continues from σ_skip on the rest of its grid.
//!
//! - [`GaussianApprox`] holds N(μ, Σ) — from a mixture's exact moments or from samples — and its
//!   exact EDM probability-flow map [`GaussianApprox::teleport`].
//! - [`skip_grid`] and [`skip_steps`] cut a σ grid at σ_skip, so that the sampler starts there.
//!
//! Invalid input (σ_skip outside the grid, shapes, non-finite moments) is a [`TeleportError`].

mod error;
mod gaussian;
mod skip;

pub use error::TeleportError;
pub use gaussian::GaussianApprox;
pub use skip::{check_skip, skip_grid, skip_steps};
