//! The variance-preserving path of flow matching (a time-reversed linear VP SDE).

use super::linear_beta::LinearBeta;
use crate::numerics::{vp_integral_from_lambda, vp_lambda_from_integral, vp_sigma_from_integral};
use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// VP path on t ∈ [0, 1] with data at t = 1 (Lipman et al. 2023, Flow Matching for
/// Generative Modeling, §4.1 Example I; facebookresearch/flow_matching `VPScheduler`).
///
/// T(t) = ½(1 − t)²(β_max − β_min) + (1 − t)β_min, α = e^{−T/2}, σ = √(1 − α²): the linear
/// VP SDE ([`VpLinear`](super::VpLinear)) read backwards, T(t) = B(1 − t). Hence
/// f = ½β(1 − t) and g² = −β(1 − t) < 0 (noising runs in decreasing t). σ(1) = 0, so
/// λ(1) = +∞; λ(0) is finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpPath {
    beta_min: f64,
    beta_max: f64,
}

impl VpPath {
    /// Validates 0 ≤ β_min ≤ β_max, β_max > 0, both finite.
    ///
    /// # Errors
    /// [`ScheduleError::NonFinite`], [`ScheduleError::Negative`],
    /// [`ScheduleError::NonPositive`] or [`ScheduleError::Misordered`].
    pub fn new(beta_min: f64, beta_max: f64) -> Result<Self, ScheduleError> {
        LinearBeta::new(beta_min, beta_max)?;
        Ok(Self { beta_min, beta_max })
    }

    /// β_min.
    pub fn beta_min(&self) -> f64 {
        self.beta_min
    }

    /// β_max.
    pub fn beta_max(&self) -> f64 {
        self.beta_max
    }

    /// T(t) = ½(1 − t)²(β_max − β_min) + (1 − t)β_min.
    pub fn big_t(&self, t: f64) -> f64 {
        self.line().integral(1.0 - t)
    }

    fn line(&self) -> LinearBeta {
        LinearBeta {
            beta_min: self.beta_min,
            beta_max: self.beta_max,
        }
    }

    /// β(1 − t) = −dT/dt.
    fn beta_reversed(&self, t: f64) -> f64 {
        self.line().beta(1.0 - t)
    }
}

impl Default for VpPath {
    /// β_min = 0.1, β_max = 20 (facebookresearch/flow_matching `VPScheduler` defaults).
    fn default() -> Self {
        Self {
            beta_min: 0.1,
            beta_max: 20.0,
        }
    }
}

impl NoiseSchedule for VpPath {
    fn alpha(&self, t: f64) -> f64 {
        (-0.5 * self.big_t(t)).exp()
    }

    fn sigma(&self, t: f64) -> f64 {
        vp_sigma_from_integral(self.big_t(t))
    }

    /// α' = ½β(1 − t)α.
    fn d_alpha(&self, t: f64) -> f64 {
        0.5 * self.beta_reversed(t) * self.alpha(t)
    }

    /// σσ' = −αα' from α² + σ² = 1.
    fn d_sigma(&self, t: f64) -> f64 {
        let big_t = self.big_t(t);
        -0.5 * self.beta_reversed(t) * (-big_t).exp() / vp_sigma_from_integral(big_t)
    }

    fn lambda(&self, t: f64) -> f64 {
        vp_lambda_from_integral(self.big_t(t))
    }

    /// dλ/dt = β(1 − t) / (2σ²).
    fn d_lambda(&self, t: f64) -> f64 {
        0.5 * self.beta_reversed(t) / (-(-self.big_t(t)).exp_m1())
    }

    /// T = ln(1 + e^{−2λ}), then 1 − t is the positive root of the quadratic T(t) = T.
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_in(lambda, self.lambda(0.0), f64::INFINITY)?;
        let s = self.line().t_from_integral(vp_integral_from_lambda(lambda));
        Ok((1.0 - s).clamp(0.0, 1.0))
    }

    /// f = ½β(1 − t).
    fn f(&self, t: f64) -> f64 {
        0.5 * self.beta_reversed(t)
    }

    /// g² = −β(1 − t).
    fn g2(&self, t: f64) -> f64 {
        -self.beta_reversed(t)
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtOne
    }
}
