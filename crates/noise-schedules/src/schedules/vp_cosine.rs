//! The cosine schedule of improved DDPM in continuous time.

use std::f64::consts::FRAC_PI_2;

use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// Cosine VP schedule on t ∈ [0, 1]
/// (Nichol & Dhariwal 2021, Improved Denoising Diffusion Probabilistic Models, eq. (17)).
///
/// ᾱ(t) = cos²(φ(t)) / cos²(φ(0)) with φ(t) = (π/2)(t + s)/(1 + s); α = √ᾱ, σ = √(1 − ᾱ).
/// The normalisation by φ(0) makes α(0) = 1 and σ(0) = 0 exactly (the offset `s` only keeps
/// β small near t = 0 — in the discrete table the first β is small but positive, here σ(0)=0).
/// At t = 1, φ = π/2 so α(1) = 0 and λ(1) = −∞; DPM-Solver stops at t ≈ 0.9946 for this
/// reason. Both endpoints are attained exactly rather than approximately because α is
/// evaluated as sin((π/2)(1 − t)/(1 + s)) / cos φ(0) instead of cos φ(t).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpCosine {
    s: f64,
}

impl VpCosine {
    /// Validates the offset `s` ≥ 0 and finite (a negative s gives α > 1 near t = 0).
    ///
    /// # Errors
    /// [`ScheduleError::NonFinite`] or [`ScheduleError::Negative`].
    pub fn new(s: f64) -> Result<Self, ScheduleError> {
        validate::non_negative("s", s)?;
        Ok(Self { s })
    }

    /// The offset s.
    pub fn s(&self) -> f64 {
        self.s
    }

    /// dφ/dt = π / (2(1 + s)).
    fn k(&self) -> f64 {
        FRAC_PI_2 / (1.0 + self.s)
    }

    fn phi(&self, t: f64) -> f64 {
        self.k() * (t + self.s)
    }

    fn phi0(&self) -> f64 {
        self.k() * self.s
    }

    /// σ² = (cos²φ₀ − cos²φ)/cos²φ₀ = sin(φ − φ₀)·sin(φ + φ₀)/cos²φ₀, which avoids the
    /// cancellation of 1 − ᾱ for small t.
    fn sigma_sq(&self, t: f64) -> f64 {
        let c0 = self.phi0().cos();
        (self.k() * t).sin() * (self.phi(t) + self.phi0()).sin() / (c0 * c0)
    }
}

impl Default for VpCosine {
    /// s = 0.008 (Nichol & Dhariwal 2021, §3.2).
    fn default() -> Self {
        Self { s: 0.008 }
    }
}

impl NoiseSchedule for VpCosine {
    /// α = cos φ(t)/cos φ(0), with cos φ(t) written as sin((π/2)(1 − t)/(1 + s)).
    fn alpha(&self, t: f64) -> f64 {
        (self.k() * (1.0 - t)).sin() / self.phi0().cos()
    }

    fn sigma(&self, t: f64) -> f64 {
        self.sigma_sq(t).sqrt()
    }

    /// α' = −k sin φ / cos φ₀ with k = π/(2(1 + s)).
    fn d_alpha(&self, t: f64) -> f64 {
        -self.k() * self.phi(t).sin() / self.phi0().cos()
    }

    /// σσ' = −αα' from α² + σ² = 1.
    fn d_sigma(&self, t: f64) -> f64 {
        -self.alpha(t) * self.d_alpha(t) / self.sigma(t)
    }

    fn lambda(&self, t: f64) -> f64 {
        self.alpha(t).ln() - 0.5 * self.sigma_sq(t).ln()
    }

    /// dλ/dt = (α'/α)/σ² = −k tan φ / σ².
    fn d_lambda(&self, t: f64) -> f64 {
        self.f(t) / self.sigma_sq(t)
    }

    /// Closed form: α²/σ² = e^{2λ} with α² + σ² = 1 gives
    /// tan²φ = tan²φ₀ + e^{−2λ}/cos²φ₀; atan is well conditioned for every λ, including
    /// λ = −∞ (t = 1) and λ = +∞ (t = 0).
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_not_nan(lambda)?;
        let c0 = self.phi0().cos();
        let tan0 = self.phi0().tan();
        // For λ so negative that e^{−2λ} overflows, atan(∞) = π/2 is the right limit (t = 1).
        let ratio = (-2.0 * lambda).exp() / (c0 * c0);
        let phi = (tan0 * tan0 + ratio).sqrt().atan();
        Ok((phi / self.k() - self.s).clamp(0.0, 1.0))
    }

    /// f = d ln α/dt = −k tan φ.
    fn f(&self, t: f64) -> f64 {
        -self.k() * self.phi(t).tan()
    }

    /// g² = −2f = π tan φ / (1 + s): the β(t) of this VP schedule.
    fn g2(&self, t: f64) -> f64 {
        2.0 * self.k() * self.phi(t).tan()
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtZero
    }
}
