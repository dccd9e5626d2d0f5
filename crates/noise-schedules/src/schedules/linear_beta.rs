//! The linear β(t) shared by VP, sub-VP and the flow-matching VP path: validation, β(t), its
//! integral B(t) and the inverse of B, kept in one place so the three schedules cannot drift.

use crate::ScheduleError;
use crate::numerics::solve_linear_beta_integral;
use crate::validate;

/// β(t) = β_min + t(β_max − β_min) on t ∈ [0, 1] (Song et al. 2021, eq. (33)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LinearBeta {
    pub(crate) beta_min: f64,
    pub(crate) beta_max: f64,
}

impl LinearBeta {
    /// β_min ≥ 0, β_max > 0 (otherwise no noise is ever added) and β_min ≤ β_max
    /// (equality is a constant β, which is legitimate).
    pub(crate) fn new(beta_min: f64, beta_max: f64) -> Result<Self, ScheduleError> {
        validate::non_negative("beta_min", beta_min)?;
        validate::positive("beta_max", beta_max)?;
        validate::not_above("beta_min", beta_min, "beta_max", beta_max)?;
        Ok(Self { beta_min, beta_max })
    }

    fn delta(&self) -> f64 {
        self.beta_max - self.beta_min
    }

    /// β(t).
    pub(crate) fn beta(&self, t: f64) -> f64 {
        self.beta_min + t * self.delta()
    }

    /// B(t) = ∫₀ᵗ β(s) ds = β_min·t + ½(β_max − β_min)t².
    pub(crate) fn integral(&self, t: f64) -> f64 {
        t * (self.beta_min + 0.5 * t * self.delta())
    }

    /// The t ≥ 0 with B(t) = b.
    pub(crate) fn t_from_integral(&self, b: f64) -> f64 {
        solve_linear_beta_integral(self.beta_min, self.delta(), b)
    }
}
