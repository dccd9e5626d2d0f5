//! Failures are values: every way an integration can go wrong is a variant here.

use thiserror::Error;

/// Why an ODE or SDE integration, or a Brownian query, did not produce a result.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SolveError {
    /// t0, t1 or a save time is NaN or infinite, or t0 == t1.
    #[error("invalid time interval: {0}")]
    InvalidInterval(String),
    /// A tolerance, step size or option is out of its domain.
    #[error("invalid option `{name}` = {value}: {reason}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// The integration needed more steps than allowed.
    #[error("maximum number of steps ({max_steps}) reached at t = {t}")]
    MaxStepsReached {
        /// The time reached.
        t: f64,
        /// The limit.
        max_steps: usize,
    },
    /// The adaptive step size fell below its minimum (a stiff or singular problem).
    #[error("step size {dt:e} fell below the minimum at t = {t}")]
    StepSizeTooSmall {
        /// The time reached.
        t: f64,
        /// The rejected step size.
        dt: f64,
    },
    /// The solution became NaN or infinite.
    #[error("the solution is not finite at t = {t}")]
    NonFinite {
        /// The time at which it was detected.
        t: f64,
    },
    /// The solver cannot integrate this problem (e.g. SRA1 with non-additive noise).
    #[error("solver `{solver}` cannot integrate this problem: {reason}")]
    Unsupported {
        /// The solver.
        solver: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A Brownian source was queried outside its interval or out of order.
    #[error("Brownian query [{t0}, {t1}] is invalid: {reason}")]
    BrownianQuery {
        /// Start of the query.
        t0: f64,
        /// End of the query.
        t1: f64,
        /// Why it cannot be answered.
        reason: &'static str,
    },
    /// No sampler has this name.
    #[error("unknown sampler `{0}` (known: {known})", known = crate::samplers::SAMPLER_NAMES.join(", "))]
    UnknownSampler(String),
    /// The seeds given do not match the state's batch.
    #[error("{seeds} seeds given for a state of {samples} samples")]
    SeedCount {
        /// Seeds given.
        seeds: usize,
        /// Samples in the state.
        samples: usize,
    },
}
