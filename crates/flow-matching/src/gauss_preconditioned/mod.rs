//! `fm-gauss`: Adams–Bashforth on the non-Gaussian residual of the flow, in the coordinates where
//! the data's moment-matched Gaussian flows not at all.
//!
//! On an affine path x_t = α(t)·x₁ + σ(t)·x₀ (data at t = 1, α(0) = 0; CondOT: α = t,
//! σ = 1 − t; Lipman et al. 2023) with Gaussian data N(μ, Σ), Σ = Q diag(λ) Qᵀ, the flow from
//! noise z is x_t = α(t)μ + Q diag(s(t)) Qᵀ z / σ(0) with sᵢ(t) = √(α²λᵢ + σ²): in
//! ξ = diag(1/s(t)) Qᵀ(x − α(t)μ) it stands still, and its velocity is
//! u^G_t(x) = α′μ + Q diag(s′/s) Qᵀ(x − αμ), s′ᵢ = (αα′λᵢ + σσ′)/sᵢ. For any data with those
//! first two moments the flow ODE in ξ is
//!
//! dξ/dt = f(ξ, t) = diag(1/s) Qᵀ (u_t(x) − u^G_t(x)) = diag(1/s) (Qᵀu_t(x) − α′Qᵀμ − diag(s′) ξ),
//!
//! the residual of the velocity against the Gaussian's: zero for Gaussian data, and zero at
//! t = 0 for any data (α(0) = 0, so E[x₁ | x₀] = μ and both velocities are α′μ + σ′z/σ). The
//! k-step Adams–Bashforth method integrates ξ on the uniform grid tⱼ = t₀ + (1 − t₀)·j/N, each
//! step the exact integral of the Lagrange polynomial through the last k values of f (fewer
//! during warm-up), and x(1) = α(1)μ + Q diag(s(1)) ξ(1). f(·, t₀) = 0 costs no call and the
//! model is never called at t = 1, so N steps take N − 1 velocity calls: `calls` calls run
//! N = `calls` + 1 steps.
//!
//! f(·, t₀) = 0 is the *analytic first step* (as iPNDM's AFS, Zhang & Chen 2023): the first
//! derivative is the data's, not the model's. From noise (t₀ = 0) it is exact for the true
//! velocity; from a σ-space start t₀ = 1/(1 + σ_max) > 0 it errs by the residual there, O(α(t₀)²)
//! for the true velocity (its posterior of x₁ is the prior to that order). On a network whose
//! velocity at t₀ misses the data's by ε, the method converges to the network's ODE solution at
//! first order in 1/N with constant ~ε (measured in `scoreflow-train`'s tests), at its own order
//! in the true velocity's.
//! This is the analytical-teleportation idea (Wang & Vastola 2024: the Gaussian part of the flow
//! in closed form) used as the linear part of an exponential-type integrator (Hochbruck &
//! Ostermann 2010) with the full covariance; docs/samplers.md reports what it gains.
//!
//! Global order k for smooth f (the warm-up steps are of lower order but few). Exact, for any
//! number of steps, when the data are Gaussian with the given moments. For any velocity field
//! it is a consistent integrator of dx/dt = u_t(x): the moments only choose the coordinates.
//!
//! - [`GaussianMoments`]: μ and the eigendecomposition of Σ (given, or from a covariance);
//! - [`sample_flow_gauss`]: the method on `ndarray` rows (f64, buffers reused);
//! - `sample_flow_gauss_tensor` (feature `burn`): the same on burn tensors of any rank, every
//!   coefficient on the device before the loop.

mod array;
mod moments;
mod plan;
#[cfg(feature = "burn")]
mod tensor;

pub use array::sample_flow_gauss;
pub use moments::GaussianMoments;
#[cfg(feature = "burn")]
pub use tensor::sample_flow_gauss_tensor;

/// What `fm-gauss` rejects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlowSampleError {
    /// Moments that do not describe a covariance and its eigendecomposition.
    #[error("fm-gauss moments: {0}")]
    Moments(String),
    /// A call count, order, path or noise shape the method cannot use.
    #[error("{0}")]
    Argument(String),
    /// The velocity returned a non-finite value or the wrong shape.
    #[error("the velocity at t = {t} is not finite or not of the state's shape")]
    NonFinite {
        /// Where.
        t: f64,
    },
}

/// The `fm-gauss` names: `fm-gauss` (= `fm-gauss-2`, k = 2, chosen on the built-in targets of
/// docs/samplers.md) and `fm-gauss-3`. They need the data's moments: the analytic commands take
/// them from the target, `scoreflow sample` from the checkpoint (computed from the training
/// data when the run started).
pub const GAUSS_FLOW_SAMPLER_NAMES: &[&str] = &["fm-gauss", "fm-gauss-2", "fm-gauss-3"];

/// The order k of an `fm-gauss` name.
pub fn gauss_order(name: &str) -> Option<usize> {
    match name {
        "fm-gauss" | "fm-gauss-2" => Some(2),
        "fm-gauss-3" => Some(3),
        _ => None,
    }
}

/// The σ-space names of the same method: `gauss` (= `gauss-2`) and `gauss-3`. A σ-space start
/// x = σ_max·z is the CondOT state t₀·x at t₀ = 1/(1 + σ_max) (x_σ = x_t/t, σ = (1 − t)/t),
/// integrated by [`sample_flow_gauss`] from t₀ on the denoiser's CondOT velocity
/// (`views::DenoiserVelocity`): `--steps N` spends N denoiser calls, the last at
/// σ = (1 − t₀)/(N + t₀) ≈ 1/N, none at a small σ_min; the end at t = 1 is σ = 0.
pub const GAUSS_SIGMA_SAMPLER_NAMES: &[&str] = &["gauss", "gauss-2", "gauss-3"];

/// The order of a σ-space `gauss` name, or of `auto` when the data's moments are known (the
/// recommended σ-space configuration of docs/samplers.md; without moments `auto` is the
/// moment-free configuration of the sampler table).
pub fn sigma_gauss_order_with(name: &str, moments_known: bool) -> Option<usize> {
    match name {
        "gauss" | "gauss-2" => Some(2),
        "gauss-3" => Some(3),
        "auto" if moments_known => Some(AUTO_GAUSS_ORDER),
        _ => None,
    }
}

/// The order `fm-auto` and `auto` run the method at when the data's moments are known (k = 2,
/// chosen on the built-in targets); without them `fm-auto` is `fm-exp`
/// ([`crate::sampling::FlowSolver::from_name`]).
pub const AUTO_GAUSS_ORDER: usize = 2;

/// The `fm-gauss` order `name` runs at given whether the data's moments are known: the
/// `fm-gauss` names always (they then fail without moments), `fm-auto` only with moments.
pub fn gauss_order_with(name: &str, moments_known: bool) -> Option<usize> {
    match name {
        "fm-auto" if moments_known => Some(AUTO_GAUSS_ORDER),
        _ => gauss_order(name),
    }
}
