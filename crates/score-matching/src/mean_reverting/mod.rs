//! Mean-reverting diffusion (IR-SDE, Luo et al. 2023) and its fast sampler MRS (Li et al. 2025).
//!
//! The forward SDE dx = θ_t(μ − x)dt + √(2λ²θ_t) dW
//! ([`MeanReverting`](scoreflow_noise_schedules::MeanReverting)) has the Gaussian marginal
//! x_t = μ + α_t(x₀ − μ) + σ_t ε, α_t = e^{−θ̄_t}, σ_t = λ√(1 − e^{−2θ̄_t}). Its reverse SDE
//! and probability-flow ODE (Song et al. 2021, eqs. (6) and (13)) are, with y = x − μ,
//!
//! dy = [−θ_t y − g_t² ∇ ln p_t] dt + g_t dW̄,   dy/dt = −θ_t y − ½ g_t² ∇ ln p_t,
//!
//! g_t² = 2λ²θ_t. Li et al. 2025 ("MRS: A Fast Sampler for Mean Reverting Diffusion based on ODE
//! and SDE Solvers", §3) integrate the linear part exactly in the log-SNR λ_t = ln(α_t/σ_t)
//! and approximate only the network integral by an exponential integrator ([`Mrs`]).
//!
//! - [`MrModel`]: a model of x₀, ε or v = α_t ε − σ_t(x₀ − μ) given (x_t, μ, t);
//!   [`MixtureMrModel`] is the exact one for Gaussian-mixture data.
//! - [`Mrs`]: MRS's ODE and SDE solvers of orders 1–2 in noise or data form.
//! - [`reverse_sde_euler_maruyama`] and [`pf_ode_solution`]: the baseline and the reference.
//! - [`log_snr_times`]: the time grid uniform in λ the solvers step along.

mod error;
mod grid;
mod mixture_model;
mod model;
mod mrs;
mod reverse;

pub use error::MrError;
pub use grid::log_snr_times;
pub use mixture_model::MixtureMrModel;
pub use model::{MrModel, MrPrediction};
pub use mrs::{Mrs, MrsForm, MrsKind};
pub use reverse::{pf_ode_solution, reverse_sde_euler_maruyama};
