//! Settings of a grid calibration.

use super::NelderMead;

/// rtol = atol of the reference solves, as `scoreflow bench-analytic`'s: far below any
/// few-step sampler's error, so the fitted error is the sampler's own.
pub const CALIBRATION_REFERENCE_TOL: f64 = 1e-10;

/// How [`calibrate_grid`](super::calibrate_grid) searches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalibrationOptions {
    /// Degree K of the polynomial correction of the starting grid's log-increments
    /// ([`GridFamily`](super::GridFamily)); capped at N − 1. Default 3: enough to move steps
    /// between the ends and the middle, few enough parameters not to chase single pilot points.
    pub degree: usize,
    /// The minimiser (its `max_evaluations` bounds the cost: each evaluation is one sampler run
    /// over every pilot set).
    pub search: NelderMead,
    /// Where the reference solve stops when the grid ends in σ = 0: Dopri5 from σ₀ to this σ,
    /// then x̂₀ = D(x; σ) (as `bench-analytic`'s reference). Default 0.002.
    pub reference_sigma_min: f64,
    /// rtol = atol of the reference Dopri5 solve.
    pub reference_tolerance: f64,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        Self {
            degree: 3,
            search: NelderMead::default(),
            reference_sigma_min: 0.002,
            reference_tolerance: CALIBRATION_REFERENCE_TOL,
        }
    }
}
