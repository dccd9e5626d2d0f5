//! Uniform training times, score_sde's t ~ U[ε, T].

use rand::{Rng, RngCore};
use scoreflow_noise_schedules::NoiseSchedule;

use super::error::{checked_time, time_interval};
use super::{NoiseLevelDistribution, NoiseLevelError, NoiseVariable};

/// t ~ U[t_min, t_max] (Song et al. 2021, "Score-Based Generative Modeling through Stochastic
/// Differential Equations", eq. (7): t uniform on [0, T], with score_sde's `eps` as t_min so that
/// the loss never evaluates σ(0) = 0).
///
/// density q(t) = 1/(t_max − t_min) on [t_min, t_max], CDF F(t) = (t − t_min)/(t_max − t_min);
/// a draw is t_min + (t_max − t_min)·u with u ~ U[0, 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UniformTime {
    t_min: f64,
    t_max: f64,
}

impl UniformTime {
    /// U[t_min, t_max].
    ///
    /// # Errors
    /// [`NoiseLevelError::NonFinite`] or [`NoiseLevelError::Negative`] for a bad end,
    /// [`NoiseLevelError::Misordered`] for t_min ≥ t_max.
    pub fn new(t_min: f64, t_max: f64) -> Result<Self, NoiseLevelError> {
        time_interval(t_min, t_max)?;
        Ok(Self { t_min, t_max })
    }

    /// ε = t_min.
    pub fn t_min(&self) -> f64 {
        self.t_min
    }

    /// T = t_max.
    pub fn t_max(&self) -> f64 {
        self.t_max
    }
}

impl Default for UniformTime {
    /// U[10⁻⁵, 1]: score_sde's `eps = 1e-5` and T = 1 (Song et al. 2021, App. C;
    /// `losses.get_sde_loss_fn`).
    fn default() -> Self {
        Self {
            t_min: 1e-5,
            t_max: 1.0,
        }
    }
}

impl NoiseLevelDistribution for UniformTime {
    fn variable(&self) -> NoiseVariable {
        NoiseVariable::Time
    }

    fn sample(&self, rng: &mut dyn RngCore) -> f64 {
        let u: f64 = rng.random();
        (self.t_min + (self.t_max - self.t_min) * u).min(self.t_max)
    }

    /// 1/(t_max − t_min) on [t_min, t_max], 0 elsewhere.
    fn density(&self, value: f64) -> f64 {
        if (self.t_min..=self.t_max).contains(&value) {
            1.0 / (self.t_max - self.t_min)
        } else {
            0.0
        }
    }

    /// (t − t_min)/(t_max − t_min), clamped to [0, 1].
    fn cdf(&self, value: f64) -> f64 {
        ((value - self.t_min) / (self.t_max - self.t_min)).clamp(0.0, 1.0)
    }

    fn support(&self) -> (f64, f64) {
        (self.t_min, self.t_max)
    }

    /// The value itself, checked to lie in [t_min, t_max] and in the schedule's `t_range()`.
    fn time(&self, value: f64, schedule: &dyn NoiseSchedule) -> Result<f64, NoiseLevelError> {
        checked_time(value, self.support(), schedule)
    }
}
