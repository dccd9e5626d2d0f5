//! Noise schedules for score-based diffusion and flow matching, in plain `f64`.
//!
//! Every schedule describes a Gaussian marginal path x_t = α(t)x₀ + σ(t)ε and implements
//! [`NoiseSchedule`]: α, σ, their time derivatives, the log-SNR λ = ln(α/σ) and its inverse,
//! and the coefficients f, g² of the linear SDE dx = f(t)x dt + g(t) dW with those marginals
//! (Song et al. 2021; Lu et al. 2022, DPM-Solver, §2).
//!
//! | type | source | data at |
//! |---|---|---|
//! | [`VpLinear`] | Song et al. 2021 (VP SDE) | t = 0 |
//! | [`VpCosine`] | Nichol & Dhariwal 2021 | t = 0 |
//! | [`SubVp`] | Song et al. 2021 (sub-VP SDE) | t = 0 |
//! | [`Ve`] | Song et al. 2021 (VE SDE) | t = 0 |
//! | [`Edm`] | Karras et al. 2022 | t = 0 |
//! | [`MeanReverting`] | Luo et al. 2023 (IR-SDE), in y = x − μ | t = 0 |
//! | [`Discrete`] | Ho et al. 2020 tables, DPM-Solver interpolation | t = 0 |
//! | [`CondOt`], [`PolynomialPath`], [`CosinePath`], [`VpPath`] | Lipman et al. 2023 | t = 1 |
//!
//! [`ScheduleConfig`] is the serde entry point; [`SigmaGrid`], [`TimeGrid`] and
//! [`diffusers_timesteps`] build the discretisations samplers step along. Invalid user input
//! yields a [`ScheduleError`], never a panic.

mod config;
mod discrete;
mod error;
mod grids;
mod numerics;
mod schedule;
mod schedules;
pub mod simd;
mod validate;

pub use config::ScheduleConfig;
pub use discrete::{BetaSchedule, Discrete, SQUAREDCOS_MAX_BETA};
pub use error::ScheduleError;
pub use grids::{KARRAS_RHO, SigmaGrid, TimeGrid, TimestepSpacing, diffusers_timesteps};
pub use schedule::{Coefficients, DataEnd, NoiseSchedule};
pub use schedules::{
    CondOt, CosinePath, Edm, MeanReverting, PolynomialPath, SubVp, Ve, VpCosine, VpLinear, VpPath,
};
