//! Variance-preserving SDE with linear β (DDPM's continuous limit).

use super::linear_beta::LinearBeta;
use crate::numerics::{vp_integral_from_lambda, vp_lambda_from_integral, vp_sigma_from_integral};
use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// VP SDE with linear β(t) = β_min + t(β_max − β_min) on t ∈ [0, 1]
/// (Song et al. 2021, Score-Based Generative Modeling through SDEs, eqs. (11), (32)–(33);
/// Ho et al. 2020 in the continuous limit).
///
/// With B(t) = ∫₀ᵗ β: α = e^{−B/2}, σ = √(1 − e^{−B}), f = −β/2, g² = β.
/// σ(0) = 0, so λ(0) = +∞ and dσ/dt is infinite at t = 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpLinear {
    beta_min: f64,
    beta_max: f64,
}

impl VpLinear {
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

    /// β(t) = β_min + t(β_max − β_min) (Song et al. 2021, eq. (33)).
    pub fn beta(&self, t: f64) -> f64 {
        self.line().beta(t)
    }

    /// B(t) = ∫₀ᵗ β(s) ds, so that α = e^{−B/2} (Song et al. 2021, eq. (33)).
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

impl Default for VpLinear {
    /// β_min = 0.1, β_max = 20 (Song et al. 2021, App. C; score_sde `VPSDE`).
    fn default() -> Self {
        Self {
            beta_min: 0.1,
            beta_max: 20.0,
        }
    }
}

impl NoiseSchedule for VpLinear {
    fn alpha(&self, t: f64) -> f64 {
        (-0.5 * self.beta_integral(t)).exp()
    }

    fn sigma(&self, t: f64) -> f64 {
        vp_sigma_from_integral(self.beta_integral(t))
    }

    /// α' = −½β α.
    fn d_alpha(&self, t: f64) -> f64 {
        -0.5 * self.beta(t) * self.alpha(t)
    }

    /// From σ² = 1 − e^{−B}: σ' = β e^{−B} / (2σ).
    fn d_sigma(&self, t: f64) -> f64 {
        let b = self.beta_integral(t);
        self.beta(t) * (-b).exp() / (2.0 * vp_sigma_from_integral(b))
    }

    /// λ = −½ ln(e^B − 1), evaluated as −½(B + ln(1 − e^{−B})).
    fn lambda(&self, t: f64) -> f64 {
        vp_lambda_from_integral(self.beta_integral(t))
    }

    /// dλ/dt = −β / (2(1 − e^{−B})) = −β / (2σ²).
    fn d_lambda(&self, t: f64) -> f64 {
        -0.5 * self.beta(t) / (-(-self.beta_integral(t)).exp_m1())
    }

    /// Closed form: B = ln(1 + e^{−2λ}), then the positive root of ½Δt² + β_min t = B
    /// (Lu et al. 2022, DPM-Solver reference code, `inverse_lambda` for the linear VP).
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_in(lambda, self.lambda(1.0), f64::INFINITY)?;
        let t = self.line().t_from_integral(vp_integral_from_lambda(lambda));
        Ok(t.clamp(0.0, 1.0))
    }

    /// f = −β/2 (Song et al. 2021, eq. (11)).
    fn f(&self, t: f64) -> f64 {
        -0.5 * self.beta(t)
    }

    /// g² = β (Song et al. 2021, eq. (11)).
    fn g2(&self, t: f64) -> f64 {
        self.beta(t)
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtZero
    }
}
