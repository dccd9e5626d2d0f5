//! # scoreflow-ode-sde-solvers
//!
//! ODE and SDE integrators for score-based generative models, in the style of diffrax
//! (Kidger 2021, *On Neural Differential Equations*, ch. 5): the vector field ([`OdeTerm`],
//! [`SdeTerm`]) is separate from the solver; a solver has an order, an `init` and a `step` that
//! returns the new state, an error estimate where it has one, and its own state; failures are
//! values ([`SolveError`]), a model's own failure included ([`DenoiseError`],
//! [`SolveError::Model`]).
//!
//! States are generic ([`State`]): `f64`, `Vec<f64>`, `ndarray` arrays of `f32`/`f64` (feature
//! `ndarray`, on by default) and burn tensors on any device (feature `burn`).
//!
//! - [`ode`]: Euler, midpoint, Heun, RK4, Bogacki–Shampine 3(2), Dormand–Prince 5(4), Tsit5;
//!   fixed steps or a PID controller; dense output.
//! - [`sde`]: Euler–Maruyama, stochastic Heun, SRA1 (strong order 1.5 for additive noise).
//! - [`samplers`]: σ-grid diffusion samplers on a [`Denoiser`] (k-diffusion, DPM-Solver,
//!   UniPC, score_sde families).
//! - [`smc`]: Feynman–Kac correctors (weighted, resampled reverse SDEs for annealed, product
//!   and guided targets) and their SMC machinery.
//! - [`dmcmc`]: Denoising MCMC (Langevin–Gibbs chains over (x, σ), then any sampler).
//! - [`brownian`]: per-sample seeded Brownian increments, sequential or as a virtual Brownian
//!   tree that answers any interval consistently (for adaptive steps).

#[cfg(feature = "burn")]
pub mod batch;
pub mod brownian;
mod denoiser;
#[cfg(feature = "ndarray")]
pub mod dmcmc;
mod error;
pub mod likelihood;
pub mod ode;
pub mod samplers;
pub mod sde;
pub mod smc;
mod state;
mod term;

pub use denoiser::{CountingDenoiser, Denoiser, ErrorStash, FallibleFn};
pub use error::{DenoiseError, SolveError};
#[cfg(feature = "ndarray")]
pub use state::NdReal;
pub use state::State;
pub use term::{FnSde, NoiseKind, OdeTerm, SdeTerm};
