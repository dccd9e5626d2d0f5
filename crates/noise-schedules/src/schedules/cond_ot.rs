//! The conditional optimal-transport (linear interpolation) path of flow matching.

use crate::numerics::sigmoid;
use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// Conditional-OT path α = t, σ = 1 − t on t ∈ [0, 1], data at t = 1
/// (Lipman et al. 2023, Flow Matching for Generative Modeling, §4.1 Example II with σ_min = 0;
/// facebookresearch/flow_matching `CondOTScheduler`; the rectified flow of Liu et al. 2023).
///
/// λ = logit(t), t = sigmoid(λ). f = 1/t and g² = −2(1 − t)/t < 0: the noising direction
/// is decreasing t (see [`NoiseSchedule::g2`]). λ(0) = −∞, λ(1) = +∞.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CondOt;

impl CondOt {
    /// The (parameter-free) conditional-OT path.
    pub fn new() -> Self {
        Self
    }
}

impl NoiseSchedule for CondOt {
    fn alpha(&self, t: f64) -> f64 {
        t
    }

    fn sigma(&self, t: f64) -> f64 {
        1.0 - t
    }

    fn d_alpha(&self, _t: f64) -> f64 {
        1.0
    }

    fn d_sigma(&self, _t: f64) -> f64 {
        -1.0
    }

    /// λ = ln t − ln(1 − t), with ln_1p keeping precision for small t.
    fn lambda(&self, t: f64) -> f64 {
        t.ln() - (-t).ln_1p()
    }

    /// dλ/dt = 1/(t(1 − t)).
    fn d_lambda(&self, t: f64) -> f64 {
        1.0 / (t * (1.0 - t))
    }

    /// t = sigmoid(λ).
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_not_nan(lambda)?;
        Ok(sigmoid(lambda))
    }

    /// f = 1/t.
    fn f(&self, t: f64) -> f64 {
        1.0 / t
    }

    /// g² = −2(1 − t)/t.
    fn g2(&self, t: f64) -> f64 {
        -2.0 * (1.0 - t) / t
    }

    /// σ/α = (1 − t)/t.
    fn edm_sigma(&self, t: f64) -> f64 {
        (1.0 - t) / t
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtOne
    }
}
