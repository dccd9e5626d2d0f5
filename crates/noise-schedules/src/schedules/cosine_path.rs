//! The trigonometric (cosine) path of flow matching.

use std::f64::consts::{FRAC_2_PI, FRAC_PI_2, PI};

use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// Cosine path α = sin(πt/2), σ = cos(πt/2) on t ∈ [0, 1], data at t = 1
/// (facebookresearch/flow_matching `CosineScheduler`; the trigonometric interpolant of
/// Albergo & Vanden-Eijnden 2023, Building Normalizing Flows with Stochastic Interpolants).
///
/// α² + σ² = 1, λ = ln tan(πt/2), t = (2/π) atan(e^λ). f = (π/2)cot(πt/2),
/// g² = −π cot(πt/2) < 0 (noising runs in decreasing t).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CosinePath;

impl CosinePath {
    /// The (parameter-free) cosine path.
    pub fn new() -> Self {
        Self
    }
}

impl NoiseSchedule for CosinePath {
    fn alpha(&self, t: f64) -> f64 {
        (FRAC_PI_2 * t).sin()
    }

    /// cos(πt/2) written as sin(π(1 − t)/2) so that σ(1) = 0 exactly and σ keeps relative
    /// precision near t = 1.
    fn sigma(&self, t: f64) -> f64 {
        (FRAC_PI_2 * (1.0 - t)).sin()
    }

    /// α' = (π/2)σ.
    fn d_alpha(&self, t: f64) -> f64 {
        FRAC_PI_2 * self.sigma(t)
    }

    /// σ' = −(π/2)α.
    fn d_sigma(&self, t: f64) -> f64 {
        -FRAC_PI_2 * self.alpha(t)
    }

    /// dλ/dt = (π/2)/(ασ) = π / sin(πt).
    fn d_lambda(&self, t: f64) -> f64 {
        FRAC_PI_2 / (self.alpha(t) * self.sigma(t))
    }

    /// t = (2/π) atan(e^λ), using atan(x) = π/2 − atan(1/x) for λ > 0 so that e^λ cannot
    /// overflow and t near 1 keeps its precision.
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_not_nan(lambda)?;
        let t = if lambda <= 0.0 {
            FRAC_2_PI * lambda.exp().atan()
        } else {
            1.0 - FRAC_2_PI * (-lambda).exp().atan()
        };
        Ok(t.clamp(0.0, 1.0))
    }

    /// f = (π/2) σ/α.
    fn f(&self, t: f64) -> f64 {
        FRAC_PI_2 * self.sigma(t) / self.alpha(t)
    }

    /// g² = −π σ/α.
    fn g2(&self, t: f64) -> f64 {
        -PI * self.sigma(t) / self.alpha(t)
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtOne
    }
}
