//! The one error type every fallible constructor and inverse in this crate returns.

use thiserror::Error;

/// Why a schedule, grid or inverse could not be built or evaluated.
///
/// Parameters are named by their literature symbol (`beta_min`, `sigma_max`, …) so that a
/// configuration error can be traced back to the offending field without a backtrace.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// A parameter was NaN or infinite where a finite value is required.
    #[error("parameter `{name}` must be finite, got {value}")]
    NonFinite {
        /// Parameter name.
        name: &'static str,
        /// Offending value.
        value: f64,
    },
    /// A parameter that must be strictly positive was zero or negative.
    #[error("parameter `{name}` must be > 0, got {value}")]
    NonPositive {
        /// Parameter name.
        name: &'static str,
        /// Offending value.
        value: f64,
    },
    /// A parameter that must be non-negative was negative.
    #[error("parameter `{name}` must be >= 0, got {value}")]
    Negative {
        /// Parameter name.
        name: &'static str,
        /// Offending value.
        value: f64,
    },
    /// A parameter lies outside the interval the mathematics allows.
    #[error("parameter `{name}` = {value} must lie in {expected}")]
    OutOfRange {
        /// Parameter name.
        name: &'static str,
        /// Offending value.
        value: f64,
        /// Human-readable description of the admissible interval.
        expected: &'static str,
    },
    /// Two parameters that must be ordered (`low < high`, or `low <= high` where equality is
    /// meaningful, e.g. a constant β) were not.
    #[error("`{low}` = {low_value} must be below `{high}` = {high_value}")]
    Misordered {
        /// Name of the parameter that must be the smaller one.
        low: &'static str,
        /// Its value.
        low_value: f64,
        /// Name of the parameter that must be the larger one.
        high: &'static str,
        /// Its value.
        high_value: f64,
    },
    /// A step or point count was below its minimum (e.g. zero steps).
    #[error("`{name}` must be at least {min}, got {got}")]
    TooFewSteps {
        /// Parameter name.
        name: &'static str,
        /// Value given.
        got: usize,
        /// Smallest admissible value.
        min: usize,
    },
    /// More inference steps than training timesteps were requested.
    #[error(
        "num_inference_steps = {num_inference_steps} exceeds num_train_timesteps = {num_train_timesteps}"
    )]
    TooManySteps {
        /// Requested inference steps.
        num_inference_steps: usize,
        /// Training timesteps available.
        num_train_timesteps: usize,
    },
    /// A log-SNR (or the EDM σ it came from) lies outside the range the schedule attains on
    /// its time interval, so no `t` maps to it.
    #[error("log-SNR lambda = {lambda} outside the schedule's range [{min}, {max}]")]
    LambdaOutOfRange {
        /// Requested λ.
        lambda: f64,
        /// Smallest λ attained on `t_range()`.
        min: f64,
        /// Largest λ attained on `t_range()`.
        max: f64,
    },
    /// A grid had fewer than the required number of points.
    #[error("grid has {len} points, needs at least {min}")]
    GridTooShort {
        /// Points given.
        len: usize,
        /// Points required.
        min: usize,
    },
    /// A grid entry was NaN or infinite.
    #[error("grid entry {index} is not finite: {value}")]
    GridNonFinite {
        /// Index of the offending entry.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A σ-grid entry was not strictly positive (only the last entry may be exactly 0), or a
    /// time grid that must be non-negative had a negative entry.
    #[error("grid entry {index} must be > 0, got {value}")]
    GridNonPositive {
        /// Index of the offending entry.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A grid entry repeated its predecessor, giving a zero-length step.
    #[error("grid entry {index} duplicates its predecessor: {value}")]
    GridDuplicate {
        /// Index of the repeated entry.
        index: usize,
        /// The repeated value.
        value: f64,
    },
    /// A grid entry broke the grid's monotone direction.
    #[error("grid entry {index} = {value} breaks monotonicity after {previous}")]
    GridNotMonotone {
        /// Index of the offending entry.
        index: usize,
        /// Value before it.
        previous: f64,
        /// Its value.
        value: f64,
    },
    /// A discrete β table whose cumulative product ᾱ is not strictly decreasing and positive
    /// (only the terminal ᾱ may be 0), so that ln ᾱ cannot be interpolated and inverted.
    #[error("beta table degenerate at index {index}: alphas_cumprod = {alpha_cumprod}")]
    DegenerateBetaTable {
        /// Index of the first offending entry.
        index: usize,
        /// ᾱ at that index.
        alpha_cumprod: f64,
    },
}
