//! The one error type of the SDE module.

use thiserror::Error;

/// Why an SDE, one of its terms, kernels or priors could not be built or evaluated.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SdeError {
    /// The schedule holds data at t = 1 (a flow-matching path), but these SDEs put data at
    /// t = 0 and noise at T (Song et al. 2021).
    #[error("the schedule holds data at t = 1; diffusion SDEs need data at t = 0")]
    DataAtOne,
    /// A time was NaN or infinite.
    #[error("time t = {t} is not finite")]
    NonFiniteTime {
        /// The time.
        t: f64,
    },
    /// A time outside the schedule's `t_range()`.
    #[error("time t = {t} lies outside the schedule's range [{t_min}, {t_max}]")]
    OutsideRange {
        /// The time.
        t: f64,
        /// Start of the range.
        t_min: f64,
        /// End of the range.
        t_max: f64,
    },
    /// An interval of zero length, or one that runs the wrong way (a transition kernel from s
    /// to t needs s < t).
    #[error("invalid interval [{t0}, {t1}]: {reason}")]
    InvalidInterval {
        /// Start.
        t0: f64,
        /// End.
        t1: f64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A coefficient of the SDE is not finite or out of its domain at t (e.g. α(1) = 0 on the
    /// cosine schedule, where f = α'/α is infinite).
    #[error("coefficient `{name}` = {value} at t = {t} must be {requirement}")]
    InvalidCoefficient {
        /// The coefficient (`alpha`, `sigma`, `f`, `g2`).
        name: &'static str,
        /// The time.
        t: f64,
        /// Its value there.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// σ(t) = 0 where a score, a density or a reverse-time term needs σ(t) > 0 (the data end of
    /// a VP schedule: integrate the reverse SDE down to a small ε > 0 instead).
    #[error("sigma(t) = 0 at t = {t}: the score and the densities are undefined there")]
    ZeroNoise {
        /// The time.
        t: f64,
    },
    /// Two states with different batch layouts (samples, elements per sample).
    #[error("state layouts differ: {left:?} vs {right:?} (samples, elements per sample)")]
    ShapeMismatch {
        /// The first state's layout.
        left: (usize, usize),
        /// The second state's layout.
        right: (usize, usize),
    },
}
