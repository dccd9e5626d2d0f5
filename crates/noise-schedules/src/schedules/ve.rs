//! Variance-exploding SDE (SMLD / NCSN in continuous time).

use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// VE SDE on t ∈ [0, 1]: α = 1, σ(t) = σ_min(σ_max/σ_min)^t
/// (Song et al. 2021, Score-Based Generative Modeling through SDEs, eq. (9) and App. B).
///
/// f = 0, g² = dσ²/dt = 2σ² ln(σ_max/σ_min). As in score_sde's `VESDE`, σ(0) = σ_min > 0
/// (the marginal is treated as x₀ + σ(t)ε rather than x₀ + √(σ² − σ_min²)ε), so
/// λ ∈ [−ln σ_max, −ln σ_min] is finite at both ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ve {
    sigma_min: f64,
    sigma_max: f64,
}

impl Ve {
    /// Validates 0 < σ_min < σ_max, both finite.
    ///
    /// # Errors
    /// [`ScheduleError::NonFinite`], [`ScheduleError::NonPositive`] or
    /// [`ScheduleError::Misordered`] (σ_min ≥ σ_max).
    pub fn new(sigma_min: f64, sigma_max: f64) -> Result<Self, ScheduleError> {
        validate::positive("sigma_min", sigma_min)?;
        validate::positive("sigma_max", sigma_max)?;
        validate::strictly_below("sigma_min", sigma_min, "sigma_max", sigma_max)?;
        Ok(Self {
            sigma_min,
            sigma_max,
        })
    }

    /// σ_min = σ(0).
    pub fn sigma_min(&self) -> f64 {
        self.sigma_min
    }

    /// σ_max = σ(1).
    pub fn sigma_max(&self) -> f64 {
        self.sigma_max
    }

    /// ln(σ_max/σ_min), the constant d ln σ/dt.
    fn log_ratio(&self) -> f64 {
        (self.sigma_max / self.sigma_min).ln()
    }
}

impl Default for Ve {
    /// σ_min = 0.01, σ_max = 50 (Song et al. 2021, App. C; score_sde `VESDE` defaults).
    fn default() -> Self {
        Self {
            sigma_min: 0.01,
            sigma_max: 50.0,
        }
    }
}

impl NoiseSchedule for Ve {
    fn alpha(&self, _t: f64) -> f64 {
        1.0
    }

    /// σ = exp(ln σ_min + t ln(σ_max/σ_min)).
    fn sigma(&self, t: f64) -> f64 {
        (self.sigma_min.ln() + t * self.log_ratio()).exp()
    }

    fn d_alpha(&self, _t: f64) -> f64 {
        0.0
    }

    /// σ' = σ ln(σ_max/σ_min).
    fn d_sigma(&self, t: f64) -> f64 {
        self.sigma(t) * self.log_ratio()
    }

    /// λ = −ln σ = −ln σ_min − t ln(σ_max/σ_min).
    fn lambda(&self, t: f64) -> f64 {
        -(self.sigma_min.ln() + t * self.log_ratio())
    }

    fn d_lambda(&self, _t: f64) -> f64 {
        -self.log_ratio()
    }

    /// t = (−λ − ln σ_min) / ln(σ_max/σ_min).
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_in(lambda, self.lambda(1.0), self.lambda(0.0))?;
        Ok(((-lambda - self.sigma_min.ln()) / self.log_ratio()).clamp(0.0, 1.0))
    }

    /// f = 0.
    fn f(&self, _t: f64) -> f64 {
        0.0
    }

    /// g² = 2σ² ln(σ_max/σ_min) (Song et al. 2021, App. B).
    fn g2(&self, t: f64) -> f64 {
        let sigma = self.sigma(t);
        2.0 * sigma * sigma * self.log_ratio()
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtZero
    }
}
