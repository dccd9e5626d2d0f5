//! Errors of mean-reverting sampling.

use scoreflow_noise_schedules::ScheduleError;
use scoreflow_ode_sde_solvers::{DenoiseError, SolveError};
use thiserror::Error;

/// Why a mean-reverting sampler or model call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MrError {
    /// The schedule (e.g. θ ≤ 0) or a log-SNR inverse.
    #[error("mean-reverting schedule: {0}")]
    Schedule(#[from] ScheduleError),
    /// A time grid that is not strictly decreasing inside (0, 1], or has fewer than 2 points.
    #[error("time grid: {0}")]
    Grid(String),
    /// x, μ or a model output of the wrong shape.
    #[error("shape: {0}")]
    Shape(String),
    /// An MRS order other than 1 or 2.
    #[error("MRS order must be 1 or 2, got {0}")]
    Order(usize),
    /// The model failed.
    #[error("model: {0}")]
    Model(#[from] DenoiseError),
    /// The reference ODE solve failed.
    #[error("reference solve: {0}")]
    Solve(#[from] SolveError),
}
