//! Polynomial convex paths of flow matching.

use crate::numerics::log_sigmoid;
use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// Polynomial path α = tⁿ, σ = 1 − tⁿ on t ∈ [0, 1], data at t = 1
/// (Lipman et al. 2024, Flow Matching Guide and Code; facebookresearch/flow_matching
/// `PolynomialConvexScheduler`; n = 1 is [`CondOt`](super::CondOt)).
///
/// λ = n ln t − ln(1 − tⁿ), inverted by t = sigmoid(λ)^{1/n}. f = n/t,
/// g² = −2n(1 − tⁿ)/t < 0 (noising runs in decreasing t). `n` may be any positive real,
/// as in the reference implementation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolynomialPath {
    n: f64,
}

impl PolynomialPath {
    /// Validates the exponent n > 0 and finite.
    ///
    /// # Errors
    /// [`ScheduleError::NonFinite`] or [`ScheduleError::NonPositive`] (e.g. n = 0).
    pub fn new(n: f64) -> Result<Self, ScheduleError> {
        validate::positive("n", n)?;
        Ok(Self { n })
    }

    /// The exponent n.
    pub fn n(&self) -> f64 {
        self.n
    }
}

impl NoiseSchedule for PolynomialPath {
    fn alpha(&self, t: f64) -> f64 {
        t.powf(self.n)
    }

    /// σ = 1 − tⁿ = −expm1(n ln t), precise where tⁿ is small.
    fn sigma(&self, t: f64) -> f64 {
        -(self.n * t.ln()).exp_m1()
    }

    /// α' = n tⁿ⁻¹.
    fn d_alpha(&self, t: f64) -> f64 {
        self.n * t.powf(self.n - 1.0)
    }

    fn d_sigma(&self, t: f64) -> f64 {
        -self.d_alpha(t)
    }

    /// λ = n ln t − ln(1 − tⁿ).
    fn lambda(&self, t: f64) -> f64 {
        let log_alpha = self.n * t.ln();
        log_alpha - (-log_alpha.exp_m1()).ln()
    }

    /// dλ/dt = n / (t(1 − tⁿ)).
    fn d_lambda(&self, t: f64) -> f64 {
        self.n / (t * self.sigma(t))
    }

    /// tⁿ = sigmoid(λ), so t = exp(ln sigmoid(λ) / n).
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_not_nan(lambda)?;
        Ok((log_sigmoid(lambda) / self.n).exp().clamp(0.0, 1.0))
    }

    /// f = n/t.
    fn f(&self, t: f64) -> f64 {
        self.n / t
    }

    /// g² = −2n(1 − tⁿ)/t.
    fn g2(&self, t: f64) -> f64 {
        -2.0 * self.n * self.sigma(t) / t
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtOne
    }
}
