//! # scoreflow-flow-matching
//!
//! Flow matching (Lipman et al. 2023, "Flow Matching for Generative Modeling"; Liu et al. 2023;
//! Albergo & Vanden-Eijnden 2023): a velocity field u_t(x) transports noise x(0) ~ N(0, I) to data
//! x(1) along dx/dt = u_t(x).
//!
//! - [`path`]: affine probability paths x_t = α(t)x₁ + σ(t)x₀ over the path schedules of
//!   `scoreflow-noise-schedules`; the training pair (x_t, dx_t/dt), conversions between velocity,
//!   data (x₁), noise (x₀) and score predictions, and schedule changes of a trained model.
//! - [`coupling`]: how a minibatch of noise is paired with a minibatch of data — independently,
//!   by exact optimal transport, by entropic OT (Sinkhorn), or within classes.
//! - `loss` (feature `burn`): I-CFM, target CFM, VP-CFM, OT-CFM, SB-CFM (with its score term)
//!   and x₁-prediction losses.
//! - [`views`]: a velocity field as a σ-space [`Denoiser`](scoreflow_ode_sde_solvers::Denoiser)
//!   and a denoiser as a velocity field, so every sampler works on every model.
//! - [`sampling`]: the `fm-*` samplers, ODE solvers on the uniform time grid of [0, 1].
//! - [`gauss_preconditioned`]: `fm-gauss`, Adams–Bashforth on the flow's residual against the
//!   data's moment-matched Gaussian, for velocities of known data moments.

pub mod coupling;
pub mod gauss_preconditioned;
#[cfg(feature = "burn")]
pub mod loss;
pub mod path;
pub mod sampling;
pub mod views;
