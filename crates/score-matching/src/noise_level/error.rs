//! The one error type of the noise-level distributions.

use scoreflow_noise_schedules::ScheduleError;
use thiserror::Error;

use super::NoiseVariable;

/// Why a noise-level distribution could not be built, or a draw could not be mapped to a
/// schedule time or reweighted.
///
/// Parameters are named by their literature symbol (`t_min`, `p_std`, `s`, …).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum NoiseLevelError {
    /// A parameter or value was NaN or infinite where a finite one is required.
    #[error("`{name}` must be finite, got {value}")]
    NonFinite {
        /// Parameter name.
        name: &'static str,
        /// Offending value.
        value: f64,
    },
    /// A parameter that must be non-negative was negative.
    #[error("`{name}` must be >= 0, got {value}")]
    Negative {
        /// Parameter name.
        name: &'static str,
        /// Offending value.
        value: f64,
    },
    /// A parameter that must be strictly positive was zero or negative.
    #[error("`{name}` must be > 0, got {value}")]
    NonPositive {
        /// Parameter name.
        name: &'static str,
        /// Offending value.
        value: f64,
    },
    /// Two parameters that must satisfy `low < high` did not.
    #[error("`{low}` = {low_value} must be below `{high}` = {high_value}")]
    Misordered {
        /// The parameter that must be the smaller one.
        low: &'static str,
        /// Its value.
        low_value: f64,
        /// The parameter that must be the larger one.
        high: &'static str,
        /// Its value.
        high_value: f64,
    },
    /// A count that must be at least one was zero (e.g. N = 0 timesteps).
    #[error("`{name}` must be at least 1, got 0")]
    ZeroCount {
        /// Parameter name.
        name: &'static str,
    },
    /// A value outside the distribution's support was given to
    /// [`time`](super::NoiseLevelDistribution::time).
    #[error("value {value} lies outside the support [{lo}, {hi}]")]
    OutOfSupport {
        /// The value.
        value: f64,
        /// Lower end of the support.
        lo: f64,
        /// Upper end of the support.
        hi: f64,
    },
    /// A timestep that is not an integer.
    #[error("timestep {value} is not an integer")]
    NotAnInteger {
        /// The value.
        value: f64,
    },
    /// A time outside the schedule's `t_range()`.
    #[error("time {t} lies outside the schedule's range [{t_min}, {t_max}]")]
    OutsideSchedule {
        /// The time.
        t: f64,
        /// Start of the schedule's range.
        t_min: f64,
        /// End of the schedule's range.
        t_max: f64,
    },
    /// The log-SNR at the ends of a likelihood-weighting interval is not finite or does not
    /// change across it, so q(t) ∝ −dλ/dt cannot be normalised.
    #[error(
        "lambda(t_min = {t_min}) = {lambda_at_t_min} and lambda(t_max = {t_max}) = {lambda_at_t_max} must be finite and distinct"
    )]
    LambdaRange {
        /// Start of the interval.
        t_min: f64,
        /// λ there.
        lambda_at_t_min: f64,
        /// End of the interval.
        t_max: f64,
        /// λ there.
        lambda_at_t_max: f64,
    },
    /// An importance weight between distributions of different variables (a density in t
    /// and one in σ̃ differ by a Jacobian, so their ratio is not a weight).
    #[error("target draws {target:?} but proposal draws {proposal:?}")]
    VariableMismatch {
        /// The target's variable.
        target: NoiseVariable,
        /// The proposal's variable.
        proposal: NoiseVariable,
    },
    /// An importance weight at a value the proposal cannot draw (density 0).
    #[error("the proposal density is zero at {value}")]
    ZeroProposalDensity {
        /// The value.
        value: f64,
    },
    /// The schedule could not invert a noise level (e.g. σ̃ beyond its σ_max).
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

/// Rejects NaN and ±∞.
pub(super) fn finite(name: &'static str, value: f64) -> Result<f64, NoiseLevelError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(NoiseLevelError::NonFinite { name, value })
    }
}

/// Finite and `>= 0`.
pub(super) fn non_negative(name: &'static str, value: f64) -> Result<f64, NoiseLevelError> {
    if finite(name, value)? >= 0.0 {
        Ok(value)
    } else {
        Err(NoiseLevelError::Negative { name, value })
    }
}

/// Finite and `> 0`.
pub(super) fn positive(name: &'static str, value: f64) -> Result<f64, NoiseLevelError> {
    if finite(name, value)? > 0.0 {
        Ok(value)
    } else {
        Err(NoiseLevelError::NonPositive { name, value })
    }
}

/// A time interval `[t_min, t_max]`: both finite, non-negative and `t_min < t_max`.
pub(super) fn time_interval(t_min: f64, t_max: f64) -> Result<(), NoiseLevelError> {
    non_negative("t_min", t_min)?;
    non_negative("t_max", t_max)?;
    if t_min < t_max {
        Ok(())
    } else {
        Err(NoiseLevelError::Misordered {
            low: "t_min",
            low_value: t_min,
            high: "t_max",
            high_value: t_max,
        })
    }
}

/// A drawn time checked against the support `[lo, hi]` and the schedule's `t_range()`.
pub(super) fn checked_time(
    t: f64,
    (lo, hi): (f64, f64),
    schedule: &dyn scoreflow_noise_schedules::NoiseSchedule,
) -> Result<f64, NoiseLevelError> {
    finite("t", t)?;
    if !(lo..=hi).contains(&t) {
        return Err(NoiseLevelError::OutOfSupport { value: t, lo, hi });
    }
    let (t_min, t_max) = schedule.t_range();
    if !(t_min..=t_max).contains(&t) {
        return Err(NoiseLevelError::OutsideSchedule { t, t_min, t_max });
    }
    Ok(t)
}
