//! Logit-normal training times (Stable Diffusion 3).

use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};
use scoreflow_noise_schedules::NoiseSchedule;

use super::error::{checked_time, finite, positive, time_interval};
use super::log_normal_sigma::{std_normal_cdf, std_normal_pdf};
use super::{NoiseLevelDistribution, NoiseLevelError, NoiseVariable};

/// Logit-normal time t = t_min + (t_max − t_min)·sigmoid(m + s·n), n ~ N(0, 1) (Esser et al.
/// 2024, "Scaling Rectified Flow Transformers for High-Resolution Image Synthesis", §3.1,
/// "Logit-Normal Sampling", eq. (19), with the affine map to [t_min, t_max] added here).
///
/// With u = (t − t_min)/(t_max − t_min) and z = (logit u − m)/s, logit u = ln(u/(1 − u)):
/// density q(t) = φ(z)·(t_max − t_min)/(s·(t − t_min)(t_max − t)) on (t_min, t_max) (0 at and
/// beyond the ends, its limit there), CDF Φ(z). m shifts the mass towards t_max (m > 0) or
/// t_min (m < 0); s > 1 moves it towards the ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogitNormalTime {
    m: f64,
    s: f64,
    t_min: f64,
    t_max: f64,
}

impl LogitNormalTime {
    /// t = t_min + (t_max − t_min)·sigmoid(m + s·n).
    ///
    /// # Errors
    /// [`NoiseLevelError::NonFinite`] for a non-finite parameter, [`NoiseLevelError::NonPositive`]
    /// for s ≤ 0, [`NoiseLevelError::Negative`] for a negative time and
    /// [`NoiseLevelError::Misordered`] for t_min ≥ t_max.
    pub fn new(m: f64, s: f64, t_min: f64, t_max: f64) -> Result<Self, NoiseLevelError> {
        finite("m", m)?;
        positive("s", s)?;
        time_interval(t_min, t_max)?;
        Ok(Self { m, s, t_min, t_max })
    }

    /// The location m of the underlying normal.
    pub fn m(&self) -> f64 {
        self.m
    }

    /// The scale s of the underlying normal.
    pub fn s(&self) -> f64 {
        self.s
    }

    /// The lower end of the support.
    pub fn t_min(&self) -> f64 {
        self.t_min
    }

    /// The upper end of the support.
    pub fn t_max(&self) -> f64 {
        self.t_max
    }

    /// z = (ln((t − t_min)/(t_max − t)) − m)/s for t strictly inside the support.
    fn z(&self, t: f64) -> f64 {
        (((t - self.t_min) / (self.t_max - t)).ln() - self.m) / self.s
    }
}

impl Default for LogitNormalTime {
    /// m = 0, s = 1 on [0, 1] (Esser et al. 2024, §3.1 and §5.1, "lognorm(0.00, 1.00)").
    fn default() -> Self {
        Self {
            m: 0.0,
            s: 1.0,
            t_min: 0.0,
            t_max: 1.0,
        }
    }
}

impl NoiseLevelDistribution for LogitNormalTime {
    fn variable(&self) -> NoiseVariable {
        NoiseVariable::Time
    }

    /// t_min + Δ·sigmoid(x) for x = m + s·n ≤ 0 and t_max − Δ·sigmoid(−x) otherwise, so that
    /// draws near either end keep their relative precision.
    fn sample(&self, rng: &mut dyn RngCore) -> f64 {
        let n: f64 = StandardNormal.sample(rng);
        let x = self.m + self.s * n;
        let width = self.t_max - self.t_min;
        let t = if x <= 0.0 {
            self.t_min + width / (1.0 + (-x).exp())
        } else {
            self.t_max - width / (1.0 + x.exp())
        };
        t.clamp(self.t_min, self.t_max)
    }

    /// φ(z)·(t_max − t_min)/(s·(t − t_min)(t_max − t)) inside the support, 0 elsewhere.
    fn density(&self, value: f64) -> f64 {
        if value > self.t_min && value < self.t_max {
            let (a, b) = (value - self.t_min, self.t_max - value);
            std_normal_pdf(self.z(value)) * (self.t_max - self.t_min) / (self.s * a * b)
        } else {
            0.0
        }
    }

    /// Φ(z), 0 at or below t_min and 1 at or above t_max.
    fn cdf(&self, value: f64) -> f64 {
        if value.is_nan() {
            f64::NAN
        } else if value <= self.t_min {
            0.0
        } else if value >= self.t_max {
            1.0
        } else {
            std_normal_cdf(self.z(value))
        }
    }

    fn support(&self) -> (f64, f64) {
        (self.t_min, self.t_max)
    }

    /// The value itself, checked to lie in [t_min, t_max] and in the schedule's `t_range()`.
    fn time(&self, value: f64, schedule: &dyn NoiseSchedule) -> Result<f64, NoiseLevelError> {
        checked_time(value, self.support(), schedule)
    }
}
