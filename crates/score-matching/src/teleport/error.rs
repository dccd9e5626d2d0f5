//! Errors of analytical teleportation.

use thiserror::Error;

/// Why a Gaussian approximation, a teleport or a grid cut was rejected.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum TeleportError {
    /// σ_skip is not strictly inside the grid's range: it must satisfy
    /// σ_min ≤ σ_skip < σ_max (σ_min the last positive grid value), or the jump would either
    /// replace nothing or the whole run.
    #[error(
        "sigma_skip = {sigma_skip} lies outside the grid: it must satisfy {sigma_min} <= sigma_skip < {sigma_max}"
    )]
    SkipOutsideGrid {
        /// The σ_skip asked for.
        sigma_skip: f64,
        /// The grid's last positive σ.
        sigma_min: f64,
        /// The grid's first σ.
        sigma_max: f64,
    },
    /// A number of steps to skip that leaves no step to take.
    #[error("cannot skip {skip} of the grid's {steps} steps (at most {steps} − 1)")]
    SkipTooManySteps {
        /// Steps asked to skip.
        skip: usize,
        /// Steps of the grid.
        steps: usize,
    },
    /// A σ of a teleport that is negative or not finite.
    #[error("{name} = {value} must be finite and >= 0")]
    BadSigma {
        /// `sigma_from` or `sigma_to`.
        name: &'static str,
        /// The value.
        value: f64,
    },
    /// A mean, covariance or batch with the wrong length.
    #[error("{what} has length {found}, expected {expected}")]
    Shape {
        /// What had the wrong length.
        what: &'static str,
        /// The expected length.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A NaN or infinity in the mean, covariance or samples.
    #[error("{what} is not finite")]
    NonFinite {
        /// Where.
        what: &'static str,
    },
    /// A covariance that is not symmetric positive semi-definite (within roundoff).
    #[error("the covariance is not symmetric positive semi-definite ({reason})")]
    NotPsd {
        /// Which test failed.
        reason: String,
    },
    /// Fewer than two samples, so no covariance can be estimated.
    #[error("need at least 2 samples to estimate a covariance, got {0}")]
    TooFewSamples(usize),
}
