//! Why a path operation was rejected.

use scoreflow_noise_schedules::DataEnd;
use thiserror::Error;

/// A path's failure: a schedule that is not a flow path, a time outside [0, 1], or a
/// conversion that is singular at the given time.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PathError {
    /// The schedule does not put data at t = 1 (a diffusion schedule).
    #[error("a flow path needs data at t = 1, but the schedule has data {0:?}")]
    NotAFlowPath(DataEnd),
    /// A time outside the path's domain [0, 1] (or NaN).
    #[error("t = {t} is outside the path's domain [0, 1]")]
    TimeOutOfRange {
        /// The time given.
        t: f64,
    },
    /// A conversion whose coefficients are not finite at this t (e.g. to noise at t = 1,
    /// where σ = 0).
    #[error("converting {from} to {to} is singular at t = {t}")]
    Singular {
        /// The prediction converted from.
        from: &'static str,
        /// The prediction converted to.
        to: &'static str,
        /// The time.
        t: f64,
    },
    /// The model (a denoiser viewed as a velocity) failed.
    #[error("the model failed: {0}")]
    Model(#[from] scoreflow_ode_sde_solvers::DenoiseError),
    /// Two inputs that must agree in shape do not.
    #[error("{what}: expected shape {expected:?}, got {got:?}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// The shape it had to have.
        expected: Vec<usize>,
        /// The shape it had.
        got: Vec<usize>,
    },
}
