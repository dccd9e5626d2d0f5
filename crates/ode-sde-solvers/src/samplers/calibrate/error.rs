//! Why a grid calibration could not run.

use thiserror::Error;

use crate::SolveError;

/// A calibration's failure. The search itself never fails: a candidate grid on which the
/// sampler breaks down (non-finite output, a grid it rejects) is an infeasible point, not an
/// error; the model's own failure and bad inputs are errors.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CalibrationError {
    /// No pilot set was given.
    #[error("calibration needs at least one pilot set")]
    NoPilots,
    /// A pilot set holds no points.
    #[error("pilot set {index} holds no points")]
    EmptyPilot {
        /// Its position in the list.
        index: usize,
    },
    /// The sampler draws noise: its endpoint is not a function of the grid and the start.
    #[error("sampler `{0}` is stochastic; only deterministic samplers can be calibrated")]
    Stochastic(&'static str),
    /// The starting grid cannot seed the search.
    #[error("invalid starting grid: {0}")]
    StartGrid(String),
    /// An option out of its domain.
    #[error("invalid calibration option `{name}` = {value}: {reason}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        reason: &'static str,
    },
    /// The starting grid's error on a pilot set is not finite (the sampler diverges there), so
    /// it cannot normalise the objective.
    #[error("the sampler's error on pilot set {index} is not finite on the starting grid")]
    NonFiniteStart {
        /// The pilot set.
        index: usize,
    },
    /// The reference solve or the model failed.
    #[error(transparent)]
    Solve(#[from] SolveError),
}
