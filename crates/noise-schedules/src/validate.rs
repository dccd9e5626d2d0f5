//! Parameter checks shared by every constructor, so that each rejects bad input the same way.

use crate::ScheduleError;

/// Rejects NaN and ±∞.
pub(crate) fn finite(name: &'static str, value: f64) -> Result<f64, ScheduleError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ScheduleError::NonFinite { name, value })
    }
}

/// Finite and `> 0`.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64, ScheduleError> {
    finite(name, value)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err(ScheduleError::NonPositive { name, value })
    }
}

/// Finite and `>= 0`.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<f64, ScheduleError> {
    finite(name, value)?;
    if value >= 0.0 {
        Ok(value)
    } else {
        Err(ScheduleError::Negative { name, value })
    }
}

/// `low < high` (both already validated as finite).
pub(crate) fn strictly_below(
    low: &'static str,
    low_value: f64,
    high: &'static str,
    high_value: f64,
) -> Result<(), ScheduleError> {
    if low_value < high_value {
        Ok(())
    } else {
        Err(ScheduleError::Misordered {
            low,
            low_value,
            high,
            high_value,
        })
    }
}

/// `low <= high` (both already validated as finite).
pub(crate) fn not_above(
    low: &'static str,
    low_value: f64,
    high: &'static str,
    high_value: f64,
) -> Result<(), ScheduleError> {
    if low_value <= high_value {
        Ok(())
    } else {
        Err(ScheduleError::Misordered {
            low,
            low_value,
            high,
            high_value,
        })
    }
}

/// Count `>= min`.
pub(crate) fn at_least(name: &'static str, got: usize, min: usize) -> Result<usize, ScheduleError> {
    if got >= min {
        Ok(got)
    } else {
        Err(ScheduleError::TooFewSteps { name, got, min })
    }
}

/// λ must not be NaN; ±∞ are legitimate limits at endpoints where σ or α vanish.
pub(crate) fn lambda_not_nan(lambda: f64) -> Result<f64, ScheduleError> {
    if lambda.is_nan() {
        Err(ScheduleError::NonFinite {
            name: "lambda",
            value: lambda,
        })
    } else {
        Ok(lambda)
    }
}

/// Checks `lambda ∈ [min, max]`; the bounds are λ at the ends of `t_range()`, computed by the
/// same code path as `lambda(t)` so that λ(t_end) itself is always accepted.
pub(crate) fn lambda_in(lambda: f64, min: f64, max: f64) -> Result<f64, ScheduleError> {
    lambda_not_nan(lambda)?;
    if lambda >= min && lambda <= max {
        Ok(lambda)
    } else {
        Err(ScheduleError::LambdaOutOfRange { lambda, min, max })
    }
}
