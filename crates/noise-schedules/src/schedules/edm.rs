//! The EDM parameterisation, where time is the noise level.

use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// EDM schedule: α = 1, σ(t) = t, t ∈ [0, σ_max]
/// (Karras et al. 2022, Elucidating the Design Space of Diffusion-Based Generative Models,
/// Table 1, "Ours": σ(t) = t, s(t) = 1).
///
/// f = 0, g² = dσ²/dt = 2t, λ = −ln t. The time interval is capped at `sigma_max` (default
/// 80, the paper's σ_max) so that `t_range()` is finite and serialisable; raise it for
/// larger noise levels. α, σ and their derivatives are defined for every t ≥ 0 regardless —
/// only [`t_from_lambda`](NoiseSchedule::t_from_lambda) enforces the cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edm {
    sigma_max: f64,
}

impl Edm {
    /// Validates σ_max > 0 and finite.
    ///
    /// # Errors
    /// [`ScheduleError::NonFinite`] or [`ScheduleError::NonPositive`].
    pub fn new(sigma_max: f64) -> Result<Self, ScheduleError> {
        validate::positive("sigma_max", sigma_max)?;
        Ok(Self { sigma_max })
    }

    /// The upper end of `t_range()`.
    pub fn sigma_max(&self) -> f64 {
        self.sigma_max
    }
}

impl Default for Edm {
    /// σ_max = 80 (Karras et al. 2022, §5 / Table 5).
    fn default() -> Self {
        Self { sigma_max: 80.0 }
    }
}

impl NoiseSchedule for Edm {
    fn alpha(&self, _t: f64) -> f64 {
        1.0
    }

    fn sigma(&self, t: f64) -> f64 {
        t
    }

    fn d_alpha(&self, _t: f64) -> f64 {
        0.0
    }

    fn d_sigma(&self, _t: f64) -> f64 {
        1.0
    }

    /// λ = −ln t.
    fn lambda(&self, t: f64) -> f64 {
        -t.ln()
    }

    /// dλ/dt = −1/t.
    fn d_lambda(&self, t: f64) -> f64 {
        -1.0 / t
    }

    /// t = e^{−λ}.
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_in(lambda, self.lambda(self.sigma_max), f64::INFINITY)?;
        Ok((-lambda).exp().min(self.sigma_max))
    }

    /// f = 0.
    fn f(&self, _t: f64) -> f64 {
        0.0
    }

    /// g² = 2t (Karras et al. 2022, eq. (6) with σ(t) = t: g = √(2σ̇σ)).
    fn g2(&self, t: f64) -> f64 {
        2.0 * t
    }

    /// σ/α = t exactly.
    fn edm_sigma(&self, t: f64) -> f64 {
        t
    }

    /// t = s exactly, skipping the ln/exp round trip of the default.
    fn t_from_edm_sigma(&self, s: f64) -> Result<f64, ScheduleError> {
        if s.is_nan() {
            return Err(ScheduleError::NonFinite {
                name: "sigma",
                value: s,
            });
        }
        if s < 0.0 {
            return Err(ScheduleError::Negative {
                name: "sigma",
                value: s,
            });
        }
        if s > self.sigma_max {
            return Err(ScheduleError::LambdaOutOfRange {
                lambda: -s.ln(),
                min: self.lambda(self.sigma_max),
                max: f64::INFINITY,
            });
        }
        Ok(s)
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, self.sigma_max)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtZero
    }
}
