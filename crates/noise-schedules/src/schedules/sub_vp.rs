//! Sub-VP SDE of Song et al. 2021.

use super::linear_beta::LinearBeta;
use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// Sub-VP SDE with linear β on t ∈ [0, 1]
/// (Song et al. 2021, Score-Based Generative Modeling through SDEs, eq. (17) and App. B).
///
/// Same mean as the VP SDE, α = e^{−B/2}, but σ = 1 − e^{−B} ≤ the VP σ;
/// f = −β/2, g² = β(1 − e^{−2B}).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubVp {
    beta_min: f64,
    beta_max: f64,
}

impl SubVp {
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

    /// β(t) = β_min + t(β_max − β_min).
    pub fn beta(&self, t: f64) -> f64 {
        self.line().beta(t)
    }

    /// B(t) = ∫₀ᵗ β(s) ds.
    pub fn beta_integral(&self, t: f64) -> f64 {
        self.line().integral(t)
    }

    fn line(&self) -> LinearBeta {
        LinearBeta {
            beta_min: self.beta_min,
            beta_max: self.beta_max,
        }
    }
}

impl Default for SubVp {
    /// β_min = 0.1, β_max = 20 (Song et al. 2021, App. C; score_sde `subVPSDE`).
    fn default() -> Self {
        Self {
            beta_min: 0.1,
            beta_max: 20.0,
        }
    }
}

impl NoiseSchedule for SubVp {
    fn alpha(&self, t: f64) -> f64 {
        (-0.5 * self.beta_integral(t)).exp()
    }

    /// σ = 1 − e^{−B}, via expm1 so that σ ≈ B stays exact for small t.
    fn sigma(&self, t: f64) -> f64 {
        -(-self.beta_integral(t)).exp_m1()
    }

    fn d_alpha(&self, t: f64) -> f64 {
        -0.5 * self.beta(t) * self.alpha(t)
    }

    /// σ' = β e^{−B}.
    fn d_sigma(&self, t: f64) -> f64 {
        self.beta(t) * (-self.beta_integral(t)).exp()
    }

    /// λ = −B/2 − ln(1 − e^{−B}).
    fn lambda(&self, t: f64) -> f64 {
        let b = self.beta_integral(t);
        -0.5 * b - (-(-b).exp_m1()).ln()
    }

    /// dλ/dt = −β/2 − β/(e^B − 1).
    fn d_lambda(&self, t: f64) -> f64 {
        let b = self.beta_integral(t);
        let beta = self.beta(t);
        -0.5 * beta - beta / b.exp_m1()
    }

    /// Closed form: with u = e^{−B/2}, α/σ = e^λ reads e^λ u² + u − e^λ = 0, whose root gives
    /// B = −2 ln u = 2 asinh(e^{−λ}/2) — a form that keeps full precision as B → 0.
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_in(lambda, self.lambda(1.0), f64::INFINITY)?;
        let b = 2.0 * (0.5 * (-lambda).exp()).asinh();
        Ok(self.line().t_from_integral(b).clamp(0.0, 1.0))
    }

    /// f = −β/2 (Song et al. 2021, eq. (17)).
    fn f(&self, t: f64) -> f64 {
        -0.5 * self.beta(t)
    }

    /// g² = β(1 − e^{−2B}) (Song et al. 2021, eq. (17)).
    fn g2(&self, t: f64) -> f64 {
        self.beta(t) * -(-2.0 * self.beta_integral(t)).exp_m1()
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtZero
    }
}
